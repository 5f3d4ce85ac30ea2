import fp from 'fastify-plugin'
import { request as upstreamRequest } from 'undici'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { PracticeLinks } from '../lib/fhir/bundle-links.js'
import { clientResponseHeaders, upstreamRequestHeaders } from '../lib/fhir/headers.js'
import { GatewayError } from '../lib/errors.js'
import { canonicalParameters, parsePracticeBase } from '../lib/fhir/target.js'
import { holdOffAfterUpstream429, takeBudgetOrRefuse, upstreamFailure } from '../lib/fhir/upstream.js'
import { checkTokenRelayForm } from '../lib/mere/token-relay-form.js'
import { bearerToken, isTokenTarget, relayOriginProblem, relayTargetBelowBase } from '../lib/mere/relay-checks.js'
import type { Practice } from '../lib/directory/practice.js'
import type { Config } from '../lib/config.js'
import type { RequestBudget } from '../lib/budget/sliding-window.js'
import type { MereCompat } from '../lib/mere/compat.js'
import type { TokenRefresher } from '../lib/tokens/refresher.js'

/** What the relay uses of the gateway. */
export interface MereProxyDeps {
  config: Pick<Config, 'PUBLIC_URL' | 'MERE_VAULT_HANDLES' | 'HEALOW_CLIENT_ID' | 'UPSTREAM_TIMEOUT_MS' | 'aliasOrigins'>
  tenantDirectory: { get (id: string): Practice | undefined }
  mereCompat: Pick<MereCompat, 'resolveHandle' | 'handOut'>
  tokens: Pick<TokenRefresher, 'accessToken'>
  requestBudget: RequestBudget
}

interface MereProxyQuery {
  vendor: string
  serviceId: string
  /** Required for `base`; Mere web sends none for `token`. */
  target?: string
  target_type?: 'base' | 'token'
}

/**
 * Mere web's `/api/proxy`: a browser cannot call Healow (no CORS), so its server relays. The
 * target is held to the same grammar as the FHIR proxy's and can only ever land under the
 * practice's FHIR base (`base`) or on its token URL (`token`). Unlike /fhir/{id}, the browser's
 * own bearer token is passed through (or, with vault handles, swapped for the real one) and
 * Bundles are not rewritten: Mere turns `next` links into relative paths itself.
 *
 * Anyone can send any Origin from outside a browser, so the Origin check keeps other pages out
 * but not scripts: every refusal (no bearer token, a token that is not a handle in vault-handle
 * mode, a token request that is not a public client's code exchange) happens before the
 * practice's Healow budget is touched, so nobody can spend it without a token.
 */
class MereProxy {
  readonly #aliasOrigins: string[]

  constructor (private readonly app: MereProxyDeps) {
    this.#aliasOrigins = app.config.aliasOrigins
  }

  /** Origin, or failing that Referer, must be PUBLIC_URL's: the relay serves Mere's page only. */
  checkOrigin (request: FastifyRequest): void {
    const problem = relayOriginProblem(request.headers, this.app.config.PUBLIC_URL)
    if (problem !== undefined) throw new GatewayError(403, 'forbidden_target', problem)
  }

  practice (query: MereProxyQuery): Practice {
    if (query.vendor !== 'healow') throw new GatewayError(404, 'not_found', `Vendor "${query.vendor.slice(0, 32)}" is not served here; this gateway relays to healow only`)
    const practice = this.app.tenantDirectory.get(query.serviceId)
    if (!practice) throw new GatewayError(404, 'not_found', `Unknown practice "${query.serviceId.slice(0, 64)}"`)
    return practice
  }

  /** The browser's bearer token for Healow, or the real token behind a vault handle; refused without one. */
  private async bearerFor (
    request: FastifyRequest,
    practice: Practice
  ): Promise<{ token: string, connectionId?: string }> {
    const header = request.headers.authorization
    if (header === undefined) throw new GatewayError(401, 'unauthorized', 'The relay forwards only requests that carry the patient\'s Authorization: Bearer token')
    const token = bearerToken(header)
    if (!token) throw new GatewayError(401, 'unauthorized', 'Authorization must be "Bearer <token>"')
    if (!this.app.config.MERE_VAULT_HANDLES) return { token }
    // In vault-handle mode the browser never holds a Healow token: anything but a handle is a guess.
    if (!token.startsWith('hsa.')) throw new GatewayError(401, 'unauthorized', 'This gateway keeps Healow\'s tokens in its vault: the relay takes only its access handles (hsa.…)')
    const resolved = await this.app.mereCompat.resolveHandle(token, 'hsa')
    if (!resolved) throw new GatewayError(401, 'unauthorized', 'Unknown or revoked access handle')
    const { connection } = resolved
    if (connection.practiceId !== practice.id) throw new GatewayError(403, 'forbidden_target', 'This access handle belongs to another practice')
    // The record the handle was checked against saves a second read, as on /fhir/{id}.
    return {
      token: await this.app.tokens.accessToken(connection.id, { record: connection.record }),
      connectionId: connection.id
    }
  }

  async relay (request: FastifyRequest, reply: FastifyReply, query: MereProxyQuery): Promise<FastifyReply> {
    this.checkOrigin(request)
    const practice = this.practice(query)
    if (query.target_type === 'token') return await this.relayToken(request, reply, practice, query.target)
    if (query.target === undefined) throw new GatewayError(400, 'invalid_request', 'target is required with target_type=base: the FHIR path under the practice, e.g. Observation?patient=123')
    return await this.relayFhir(request, reply, practice, query.target)
  }

  private async relayFhir (
    request: FastifyRequest,
    reply: FastifyReply,
    practice: Practice,
    target: string
  ): Promise<FastifyReply> {
    const { method } = request
    const base = parsePracticeBase(practice.fhirBase)
    const relative = relayTargetBelowBase(target, new PracticeLinks(base, this.#aliasOrigins, ''), method)
    if (relative === undefined) throw new GatewayError(400, 'forbidden_target', 'Not relayed: the target is not a FHIR path under this practice')
    let form: string | undefined
    if (method === 'POST') {
      form = typeof request.body === 'string' ? canonicalParameters(request.body) : request.body === undefined ? '' : undefined
      if (form === undefined) throw new GatewayError(400, 'forbidden_target', 'Not relayed: search parameters outside the FHIR search grammar')
    }
    let { token, connectionId } = await this.bearerFor(request, practice)
    for (let attempt = 0; ; attempt++) {
      await takeBudgetOrRefuse(this.app.requestBudget, practice.id)
      const headers = upstreamRequestHeaders(request.headers, token, request.id)
      if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
      const upstream = await this.send(`${base.origin}${base.path}${relative}`, request.method, headers, form)
      // With a vault handle the gateway owns the token: one refresh and retry, as on /fhir/{id}.
      if (upstream.statusCode === 401 && connectionId && attempt === 0) {
        await upstream.body.dump()
        token = await this.app.tokens.accessToken(connectionId, { rejected: token })
        continue
      }
      return await this.answer(reply, practice, upstream)
    }
  }

  /** Mere web's public-mode code exchange: `POST …&target_type=token` with no target, a form body. */
  private async relayToken (
    request: FastifyRequest,
    reply: FastifyReply,
    practice: Practice,
    target: string | undefined
  ): Promise<FastifyReply> {
    if (request.method !== 'POST') throw new GatewayError(405, 'method_not_allowed', 'The token relay takes POST only', { allow: 'POST' })
    if (!isTokenTarget(target, practice.tokenUrl)) {
      throw new GatewayError(400, 'forbidden_target', "Not relayed: target_type=token goes to the practice's token URL only (leave target out)")
    }
    if (typeof request.body !== 'string') throw new GatewayError(400, 'invalid_request', 'The token relay takes an application/x-www-form-urlencoded body of OAuth parameters')
    const checked = checkTokenRelayForm(request.body, this.app.config.HEALOW_CLIENT_ID)
    if (!checked.ok) throw new GatewayError(400, 'invalid_request', `Not relayed: ${checked.problem}`)
    await takeBudgetOrRefuse(this.app.requestBudget, practice.id)
    const upstream = await this.send(practice.tokenUrl, 'POST', { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'healow-sync' }, checked.form)
    reply.header('cache-control', 'no-store')
    if (!this.app.config.MERE_VAULT_HANDLES || upstream.statusCode !== 200) {
      return await this.answer(
        reply,
        practice,
        upstream
      )
    }
    // Vault-handle mode: Healow's tokens go into the vault and the browser gets handles, as from /api/v1/healow/token.
    let body: unknown
    try {
      body = await upstream.body.json()
    } catch (err) {
      throw upstreamFailure(err as Error)
    }
    const answer = await this.app.mereCompat.handOut(practice, body)
    return reply.code(answer.status).type('application/json').send(answer.body)
  }

  private async send (url: string, method: string, headers: Record<string, string>, body: string | undefined) {
    try {
      return await upstreamRequest(url, {
        method: method as 'GET',
        headers,
        body,
        headersTimeout: this.app.config.UPSTREAM_TIMEOUT_MS,
        bodyTimeout: this.app.config.UPSTREAM_TIMEOUT_MS
      })
    } catch (err) {
      throw upstreamFailure(err as Error)
    }
  }

  private async answer (reply: FastifyReply, practice: Practice, upstream: Awaited<ReturnType<MereProxy['send']>>): Promise<FastifyReply> {
    if (upstream.statusCode === 429) {
      await upstream.body.dump()
      throw await holdOffAfterUpstream429(this.app.requestBudget, practice.id, upstream.headers['retry-after'])
    }
    // Redirects are passed on without their Location (clientResponseHeaders drops it): never followed.
    return reply.code(upstream.statusCode).headers(clientResponseHeaders(upstream.headers)).send(upstream.body)
  }
}

declare module 'fastify' {
  interface FastifyInstance { mereProxy: MereProxy }
}

export default fp(async (app) => {
  app.decorate('mereProxy', new MereProxy({
    config: app.config,
    tenantDirectory: app.tenantDirectory,
    mereCompat: app.mereCompat,
    tokens: app.tokens,
    requestBudget: app.requestBudget
  }))
}, { name: 'mere-proxy', dependencies: ['config', 'tenant-directory', 'mere-compat', 'tokens', 'request-budget', 'vault'] })
