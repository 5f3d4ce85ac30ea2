import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, RawServerBase, RequestGenericInterface, RouteGenericInterface } from 'fastify'
import type { Readable } from 'node:stream'
// Brings reply.from (from @fastify/reply-from, which @fastify/http-proxy registers) into the types.
import type {} from '@fastify/http-proxy'
import type { FastifyReplyFromHooks } from '@fastify/reply-from'

// The request and reply as @fastify/reply-from's hooks type them (any server, HTTP/1 or 2).
type ProxiedRequest = FastifyRequest<RequestGenericInterface, RawServerBase>
type ProxiedReply = FastifyReply<RouteGenericInterface, RawServerBase>
import type { AuthenticatedConnection } from '../lib/tokens/connections.js'
import type { RequestBudget } from '../lib/budget/sliding-window.js'
import { PracticeLinks } from '../lib/fhir/bundle-links.js'
import { clientResponseHeaders, isFhirJson, REPRESENTATION_HEADERS, upstreamRequestHeaders } from '../lib/fhir/headers.js'
import { discard, holdOffAfterUpstream429, readBundleText, takeBudgetOrRefuse, upstreamFailure } from '../lib/fhir/upstream.js'
import { GatewayError } from '../lib/errors.js'
import { RequestState } from '../lib/request-state.js'
import { canonicalParameters, parseFhirTarget, parsePracticeBase, upstreamLocation, type FhirTarget } from '../lib/fhir/target.js'
import type { WithheldLink } from '../lib/fhir/withheld-links.js'
import type { MetricsRecorder } from '../lib/metrics.js'

const CONNECTION_ID = /^[A-Za-z0-9-]{1,64}$/

/** What the raw URL asks for: whose connection, and which FHIR interaction. */
export interface ProxyRequest { connectionId: string, target: FhirTarget }

/** One client request on its way through the proxy. */
export interface ProxyExchange {
  connection: AuthenticatedConnection
  target: FhirTarget
  upstream: { origin: string, path: string, query: string }
  links: PracticeLinks
  token: string
  /** An upstream 401 was already answered with one refresh and retry. */
  retried: boolean
  /** Canonical form body of a POST _search. */
  form?: string
  /** When the current upstream request was sent (performance.now()), for its latency. */
  sentAt?: number
  fromOptions?: FastifyReplyFromHooks
}

/** Upstream response as @fastify/reply-from hands it over. */
interface UpstreamResponse {
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
  stream: Readable
}

export interface FhirProxyDeps {
  authenticate: (request: ProxiedRequest, connectionId: string) => Promise<AuthenticatedConnection>
  accessToken: (connectionId: string, opts?: { rejected?: string, record?: AuthenticatedConnection['record'] }) => Promise<string>
  budget: RequestBudget
  publicUrl: string
  aliasOrigins: string[]
  timeoutMs: number
  metrics: MetricsRecorder
}

/**
 * The FHIR proxy's behaviour, as the hooks and @fastify/http-proxy options that routes/fhir.ts
 * wires: check the target on the raw URL (onRequest), authenticate and fetch a fresh token
 * (preHandler; async work cannot go in reply-from's synchronous header hook), forward with
 * allowlisted headers, then sort the upstream answer (retry a 401 once, rewrite Bundles,
 * stream everything else, turn upstream trouble into OperationOutcome).
 */
class FhirProxy {
  /**
   * Bundles that reached a client with links withheld, and those links: an operator's sign that
   * Healow writes links on a host missing from FHIR_ALIAS_HOSTS.
   */
  readonly withheldLinks = { bundles: 0, links: 0 }
  // Per-request state, kept here rather than as nullable request decorators every step would assert.
  readonly #requests = new RequestState<ProxyRequest>('the FHIR target')
  readonly #exchanges = new RequestState<ProxyExchange>('the FHIR exchange')

  constructor (private readonly deps: FhirProxyDeps) {}

  /**
   * onRequest: method and target, decided on the raw URL before anything else is read (synchronous: no promise per
   * request).
   */
  readonly checkTarget = (request: ProxiedRequest, _reply: ProxiedReply, done: (err?: Error) => void): void => {
    try {
      this.#requests.set(request, this.requestOf(request))
    } catch (err) {
      done(err as Error)
      return
    }
    done()
  }

  private requestOf (request: ProxiedRequest): ProxyRequest {
    const raw = request.raw.url ?? ''
    const match = /^\/fhir\/([^/?]*)(.*)$/s.exec(raw)
    const connectionId = match?.[1] ?? ''
    if (!match || !CONNECTION_ID.test(connectionId)) {
      throw new GatewayError(400, 'forbidden_target', 'Not a FHIR proxy URL: /fhir/{connectionId}/{FHIR path}')
    }
    const method = request.method === 'HEAD' ? 'GET' : request.method
    if (method !== 'GET' && method !== 'POST') {
      throw new GatewayError(405, 'method_not_allowed', `${request.method} is not forwarded: the proxy reads (GET, HEAD) and searches (POST {Type}/_search)`, { allow: 'GET, HEAD, POST' })
    }
    const parsed = parseFhirTarget(match[2], method)
    if (!parsed.ok) throw new GatewayError(parsed.status, parsed.code, `Not forwarded: ${parsed.reason}`, parsed.allow ? { allow: parsed.allow } : {})
    const contentType = request.headers['content-type']
    if (parsed.target.postSearch && contentType !== undefined && !/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
      throw new GatewayError(415, 'invalid_request', 'A POST _search takes its parameters as application/x-www-form-urlencoded')
    }
    return { connectionId, target: parsed.target }
  }

  /** preHandler: who is asking, where the practice is, a fresh token, and a slot in Healow's budget. */
  readonly openExchange = async (request: ProxiedRequest): Promise<void> => {
    const { connectionId, target } = this.#requests.get(request)
    const connection = await this.deps.authenticate(request, connectionId)
    let form: string | undefined
    if (target.postSearch) {
      form = request.body === undefined ? '' : typeof request.body === 'string' ? canonicalParameters(request.body) : undefined
      if (form === undefined) throw new GatewayError(400, 'forbidden_target', 'Not forwarded: search parameters outside the FHIR search grammar')
    }
    const base = parsePracticeBase(connection.fhirBase)
    const token = await this.deps.accessToken(connection.id, { record: connection.record })
    await takeBudgetOrRefuse(this.deps.budget, connection.practiceId)
    this.#exchanges.set(request, {
      connection,
      target,
      upstream: upstreamLocation(base, target),
      links: new PracticeLinks(base, this.deps.aliasOrigins, `${this.deps.publicUrl}/fhir/${connection.id}`),
      token,
      retried: false,
      form
    })
  }

  /** @fastify/http-proxy `handler`: forward to the validated upstream path (origin comes from getUpstream). */
  readonly forward = (
    request: ProxiedRequest,
    reply: ProxiedReply,
    _dest: string,
    options: FastifyReplyFromHooks
  ): ProxiedReply => {
    const exchange = this.exchangeOf(request)
    exchange.fromOptions = exchange.form === undefined
      ? options
      : { ...options, body: exchange.form, contentType: 'application/x-www-form-urlencoded' }
    exchange.sentAt = performance.now()
    return reply.from(exchange.upstream.path, exchange.fromOptions)
  }

  /** @fastify/reply-from options shared by every proxied request. */
  get replyOptions (): FastifyReplyFromHooks {
    return {
      getUpstream: (request: ProxiedRequest) => this.exchangeOf(request).upstream.origin,
      // Only the validated, re-encoded query goes upstream, never the raw one.
      queryString: (
        _search: unknown,
        _url: unknown,
        request: ProxiedRequest
      ) => this.exchangeOf(request).upstream.query,
      rewriteRequestHeaders: (request: ProxiedRequest) => {
        const exchange = this.exchangeOf(request)
        const headers = upstreamRequestHeaders(request.headers, exchange.token, request.id)
        if (exchange.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
        return headers
      },
      rewriteHeaders: (headers: Record<string, string | string[] | undefined>) => clientResponseHeaders(headers),
      onResponse: (request: ProxiedRequest, reply: ProxiedReply, res: unknown) => {
        this.observeUpstream(this.exchangeOf(request), (res as UpstreamResponse).statusCode)
        this.respond(
          request,
          reply,
          res as UpstreamResponse
        ).catch((err: unknown) => { if (!reply.sent) reply.send(err) })
      },
      onError: (reply: ProxiedReply, { error }: { error: Error }) => {
        const exchange = this.#exchanges.find(reply.request)
        if (exchange) this.observeUpstream(exchange, undefined)
        reply.send(upstreamFailure(error))
      },
      timeout: this.deps.timeoutMs,
      // reply-from would retry a GET answered 503 up to ten times: each one would count at Healow.
      retryDelay: () => null
    }
  }

  private exchangeOf (request: ProxiedRequest): ProxyExchange {
    return this.#exchanges.get(request)
  }

  private observeUpstream (exchange: ProxyExchange, status: number | undefined): void {
    if (exchange.sentAt !== undefined) this.deps.metrics.upstream(exchange.connection.practiceId, 'fhir', (performance.now() - exchange.sentAt) / 1000, status)
  }

  private async respond (request: ProxiedRequest, reply: ProxiedReply, res: UpstreamResponse): Promise<void> {
    const exchange = this.exchangeOf(request)
    const status = res.statusCode
    if (status === 401) {
      discard(res.stream)
      // The connection itself is fine (its refresh just worked): say so, as GET /connections/{id} does.
      if (exchange.retried) throw new GatewayError(502, 'upstream_unavailable', 'Healow refused a freshly refreshed access token; the connection is kept, try again later')
      // Expired or revoked early: refresh once (unless someone already did) and try again.
      exchange.retried = true
      clearUpstreamHeaders(reply)
      exchange.token = await this.deps.accessToken(exchange.connection.id, { rejected: exchange.token })
      await takeBudgetOrRefuse(this.deps.budget, exchange.connection.practiceId)
      exchange.sentAt = performance.now()
      reply.from(exchange.upstream.path, exchange.fromOptions)
      return
    }
    if (status === 429) {
      discard(res.stream)
      throw await holdOffAfterUpstream429(this.deps.budget, exchange.connection.practiceId, res.headers['retry-after'])
    }
    if (status >= 500) {
      discard(res.stream)
      throw new GatewayError(502, 'upstream_unavailable', `Healow answered ${status}; try again later`)
    }
    if (status >= 300 && status < 400 && status !== 304) {
      discard(res.stream)
      // Never followed (the bearer token would go along). Passed on only when it leads back into the practice.
      const location = res.headers.location
      const rewritten = typeof location === 'string' ? exchange.links.rewrite(location) : undefined
      if (rewritten === undefined) throw new GatewayError(502, 'upstream_unavailable', `Healow redirected (${status}) outside the practice; not followed`)
      clearUpstreamHeaders(reply)
      reply.header('location', rewritten).send()
      return
    }
    const contentType = res.headers['content-type']
    if (exchange.target.kind === 'bundle' && status < 300 && request.method !== 'HEAD' && isFhirJson(typeof contentType === 'string' ? contentType : undefined)) {
      await this.sendRewrittenBundle(reply, res, exchange)
      return
    }
    reply.send(res.stream)
  }

  private async sendRewrittenBundle (
    reply: ProxiedReply,
    res: UpstreamResponse,
    exchange: ProxyExchange
  ): Promise<void> {
    const withheld: WithheldLink[] = []
    const bundle = exchange.links.rewriteBundleJson(await readBundleText(res.stream), withheld)
    if (bundle === undefined) throw new GatewayError(502, 'upstream_unavailable', 'Healow answered a search with something that is not JSON')
    if (withheld.length > 0) {
      this.withheldLinks.bundles++
      this.withheldLinks.links += withheld.length
      reply.log.warn({ withheld: withheld.slice(0, 10), count: withheld.length, practice: exchange.connection.practiceId }, 'Bundle links withheld: they lead to a host the gateway does not map (FHIR_ALIAS_HOSTS?)')
    }
    reply.removeHeader('content-length')
    reply.header('content-type', 'application/fhir+json; charset=utf-8').send(bundle)
  }
}

function clearUpstreamHeaders (reply: ProxiedReply): void {
  for (const name of REPRESENTATION_HEADERS) reply.removeHeader(name)
}

declare module 'fastify' {
  interface FastifyInstance { fhirProxy: FhirProxy }
}

export default fp(async (app) => {
  app.decorate('fhirProxy', new FhirProxy({
    authenticate: (request, id) => app.connections.authenticate(request.headers.authorization, id),
    accessToken: (id, opts) => app.tokens.accessToken(id, opts),
    budget: app.requestBudget,
    publicUrl: app.config.PUBLIC_URL,
    aliasOrigins: app.config.aliasOrigins,
    timeoutMs: app.config.UPSTREAM_TIMEOUT_MS,
    metrics: app.metrics
  }))
}, { name: 'fhir-proxy', dependencies: ['config', 'connections', 'tokens', 'request-budget', 'metrics'] })
