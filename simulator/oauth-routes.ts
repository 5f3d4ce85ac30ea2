// The eCW-like OAuth paths, handed to oidc-provider after the simulator has done
// what Healow does around it: rate limit per practice, faults, counters.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Interaction } from 'oidc-provider'
import { OAUTH_PATHS, OIDC_SCOPES, type AuthorizationServer } from './authorization-server.js'
import { operationOutcome, SMART_SCOPES } from './fhir-types.js'
import { loginPage } from './login-page.js'
import type { Practice } from './practices.js'
import { replayRequest } from './replay-request.js'
import type { SimulatorState } from './state.js'

export interface OauthRoutesOptions { state: SimulatorState; authorizationServer: AuthorizationServer }

export default async function oauthRoutes (
  app: FastifyInstance,
  { state, authorizationServer }: OauthRoutesOptions
): Promise<void> {
  const { provider } = authorizationServer
  const handleInProvider = provider.callback()
  const forward = (request: FastifyRequest, reply: FastifyReply, raw = request.raw) => {
    reply.hijack()
    handleInProvider(raw, reply.raw)
  }
  const rateLimited = (reply: FastifyReply) => {
    state.counters.countRateLimited()
    // Healow: 429 for the rest of the minute, without Retry-After.
    return reply.code(429).send(operationOutcome('throttled', 'Rate limit exceeded'))
  }

  // oidc-provider reads form bodies itself: keep the bytes as they came.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  app.get(OAUTH_PATHS.authorize, async (request, reply) => {
    const aud = (request.query as Record<string, unknown>).aud
    const practice = typeof aud === 'string' ? state.practiceByBase(aud) : undefined
    if (practice) {
      state.counters.countAuthorize(practice.id)
      if (!state.rateLimit.take(practice.id)) return rateLimited(reply)
    }
    // oidc-provider drops offline_access unless consent is prompted; the login page grants it anyway.
    const url = new URL(request.raw.url!, state.url)
    if (!url.searchParams.get('prompt')?.split(' ').includes('consent')) {
      url.searchParams.set('prompt', [url.searchParams.get('prompt'), 'consent'].filter(Boolean).join(' '))
      request.raw.url = url.pathname + url.search
    }
    forward(request, reply)
  })

  // A token request that arrives while the endpoint is down is answered 503 even if its body is
  // read after the fault is lifted: a test that lifts it right after killing an instance must not
  // have that instance's last request spend a refresh token for a process that is gone.
  const arrivedWhileDown = new WeakSet<object>()
  const noteArrival = (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    if (state.faults.tokenDown) arrivedWhileDown.add(request.raw)
    done()
  }
  app.post(OAUTH_PATHS.token, { onRequest: noteArrival }, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const params = new URLSearchParams(body.toString())
    const grantType = params.get('grant_type') ?? 'unknown'
    const { faults } = state
    if (faults.tokenLatencyMs > 0) await sleep(faults.tokenLatencyMs)
    if (faults.tokenDown || arrivedWhileDown.has(request.raw)) {
      state.counters.countToken(grantType, 'token_down')
      return reply.code(503).type('text/html').send('<html><body><h1>503 Service Unavailable</h1></body></html>')
    }
    const practice = await practiceOfTokenRequest(params)
    if (practice && !state.rateLimit.take(practice.id)) {
      state.counters.countToken(grantType, 'rate_limited')
      return rateLimited(reply)
    }
    if (faults.tokenCutMidBody) {
      state.counters.countToken(grantType, 'cut_mid_body')
      return cutMidBody(reply)
    }
    const refreshToken = params.get('refresh_token')
    if (grantType === 'refresh_token' && refreshToken) state.counters.countRefreshTokenPresented(refreshToken)
    if (grantType === 'refresh_token' && faults.invalidGrantOnNextRefresh) {
      faults.invalidGrantOnNextRefresh = false
      state.counters.countToken(grantType, 'invalid_grant')
      return reply.code(400).send({ error: 'invalid_grant', error_description: 'grant request is invalid' })
    }
    forward(request, reply, replayRequest(request.raw, body))
  })

  // The authorize resume step, the JWKS and CORS preflights: oidc-provider's own.
  app.route({ method: ['GET', 'OPTIONS'], url: '/oauth/oauth2/*', handler: async (request, reply) => forward(request, reply) })

  app.get(`${OAUTH_PATHS.interaction}/:uid`, async (request, reply) => {
    const { interaction, practice } = await interactionAndPractice(request, reply)
    if (state.options.autoLogin) return approve(request, reply, interaction, practice)
    return reply.type('text/html').send(loginPage(practice, request.url))
  })

  app.post(`${OAUTH_PATHS.interaction}/:uid`, async (request, reply) => {
    const { interaction, practice } = await interactionAndPractice(request, reply)
    const login = new URLSearchParams(String(request.body ?? '')).get('login')?.trim()
    if (login !== practice.login) {
      return reply.code(401).type('text/html').send(loginPage(practice, request.url, `No patient of this practice has the login "${login ?? ''}".`))
    }
    return approve(request, reply, interaction, practice)
  })

  /** Announces a whole token response, sends half of it, and drops the connection. */
  function cutMidBody (reply: FastifyReply): void {
    reply.hijack()
    const body = JSON.stringify({ access_token: 'x'.repeat(400), token_type: 'Bearer', expires_in: 3600, refresh_token: 'y'.repeat(400) })
    reply.raw.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) })
    reply.raw.write(body.slice(0, body.length >> 1), () => reply.raw.destroy())
  }

  async function practiceOfTokenRequest (params: URLSearchParams): Promise<Practice | undefined> {
    const code = params.get('code')
    const refreshToken = params.get('refresh_token')
    const source = params.get('grant_type') === 'authorization_code' && code
      ? await provider.AuthorizationCode.find(code)
      : params.get('grant_type') === 'refresh_token' && refreshToken
        ? await provider.RefreshToken.find(refreshToken)
        : undefined
    const resource = [source?.resource].flat()[0]
    return resource ? state.practiceByBase(resource) : undefined
  }

  async function interactionAndPractice (
    request: FastifyRequest,
    reply: FastifyReply
  ): Promise<{ interaction: Interaction; practice: Practice }> {
    let interaction: Interaction
    try {
      interaction = await provider.interactionDetails(request.raw, reply.raw)
    } catch {
      // A stale bookmark or a browser without the interaction cookie: a person's mistake, not a crash.
      throw Object.assign(new Error('This login has expired or was opened in another browser; start again from your app'), { statusCode: 400 })
    }
    const practice = state.practiceByBase(String(interaction.params.aud))
    // The authorize endpoint has already refused an unknown aud.
    if (!practice) throw new Error(`interaction ${interaction.uid} has no practice`)
    return { interaction, practice }
  }

  /** Logs the practice's demo patient in and grants what was asked of the scopes Healow offers. */
  async function approve (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, practice: Practice) {
    const requested = String(interaction.params.scope ?? '').split(' ')
    const grant = new provider.Grant({ accountId: practice.patientId, clientId: String(interaction.params.client_id) })
    grant.addOIDCScope(requested.filter((scope) => OIDC_SCOPES.includes(scope)).join(' '))
    grant.addResourceScope(practice.fhirBase, requested.filter((scope) => SMART_SCOPES.includes(scope)).join(' '))
    const result = { login: { accountId: practice.patientId }, consent: { grantId: await grant.save() } }
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      result,
      { mergeWithLastSubmission: false }
    )
    return reply.redirect(returnTo, 303)
  }
}
