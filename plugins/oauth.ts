import fp from 'fastify-plugin'
import type { FastifyOAuth2Options, OAuth2Namespace } from '@fastify/oauth2'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { OAuthStates, isAllowedReturnTo as returnToAllowed } from '../lib/tokens/oauth-state.js'
import { GatewayError, requestError, withPersonMessage } from '../lib/errors.js'
import { connectionFromTokenResponse } from '../lib/tokens/token-response.js'
import { scopesFor } from '../lib/tokens/scopes.js'
import type { PendingAuthorization } from '../lib/store/types.js'
import { RequestState } from '../lib/request-state.js'

const STATE_COOKIE = 'healow-oauth-state'
const VERIFIER_COOKIE = 'healow-oauth-verifier'
const PENDING_TTL_MS = 10 * 60_000
// For every callback that cannot be finished: an old link, a second tab, a reload, another browser.
const STALE_SIGN_IN = 'This sign-in cannot be finished: it was started in another browser, already used, or is more than 10 minutes old. Nothing was stored. Start again from the start page or your app.'

export type ConnectOutcome =
  | { kind: 'connected', connectionId: string, handoff: string, practiceId: string, returnTo: string | null }
  | { kind: 'declined', practiceId: string, error: string, description: string, returnTo: string | null }

declare module 'fastify' {
  interface FastifyInstance {
    healowConnect: HealowConnect
  }
}

const OAUTH2_NAME = 'healowOAuth2'

/**
 * @fastify/oauth2, registered on a Fastify instance of its own the first time a patient signs in.
 * It brings simple-oauth2 and joi (1.7 MB of heap, 3.8 MiB resident imported alone), which a
 * gateway that nobody is connecting through would otherwise hold all day. Its methods only use the
 * request and reply they are given (and the cookie decorators, which this app registers), so the
 * instance is never listened on.
 */
function onFirstSignIn (options: FastifyOAuth2Options): () => Promise<OAuth2Namespace> {
  let loading: Promise<OAuth2Namespace> | undefined
  const load = async (): Promise<OAuth2Namespace> => {
    const { default: oauth2 } = await import('@fastify/oauth2')
    const holder = Fastify()
    await holder.register(oauth2, options)
    await holder.ready()
    return (holder as unknown as Record<string, OAuth2Namespace>)[OAUTH2_NAME]
  }
  return async () => await (loading ??= load().catch((err: unknown) => {
    loading = undefined
    throw err
  }))
}

export interface HealowConnect {
  /** The URL to send the patient's browser to, after checking the practice and return_to. */
  start (request: FastifyRequest, reply: FastifyReply, tenant: string, returnTo: string | undefined): Promise<string>
  finish (request: FastifyRequest, reply: FastifyReply): Promise<ConnectOutcome>
  /** return_to must be on PUBLIC_URL's origin or one of ALLOWED_ORIGINS: no open redirect. */
  isAllowedReturnTo (returnTo: string): boolean
}

/**
 * The authorization-code flow through @fastify/oauth2: state and PKCE S256 in httpOnly cookies,
 * `aud` added for Healow, and the state also recorded in the store (single use) together with the
 * practice and return_to, so a callback can land on any instance and a state cannot be replayed.
 */
export default fp(async (app) => {
  // What /healow/connect asked for, kept until the state is generated; what the callback's state stood for, once
  // checked.
  const pendingConnect = new RequestState<PendingAuthorization>('the connect request')
  const checkedPending = new RequestState<PendingAuthorization>("the callback's checked state")
  const { config } = app
  const authorize = new URL(config.HEALOW_AUTHORIZE_URL)
  const token = new URL(config.HEALOW_TOKEN_URL)
  const secureCookies = config.PUBLIC_URL.startsWith('https:')
  const states = new OAuthStates(app.store.pendingAuthorizations)

  const healowOAuth2 = onFirstSignIn({
    name: OAUTH2_NAME,
    scope: scopesFor(config.mode),
    credentials: {
      client: { id: config.HEALOW_CLIENT_ID, secret: config.HEALOW_CLIENT_SECRET ?? '' },
      auth: {
        authorizeHost: authorize.origin,
        authorizePath: authorize.pathname,
        tokenHost: token.origin,
        tokenPath: token.pathname + token.search
      },
      // Confidential: HTTP Basic ("Symmetric" at Healow). Public: client_id in the body, no secret.
      options: { authorizationMethod: config.HEALOW_CLIENT_SECRET ? 'header' : 'body' }
    },
    callbackUri: config.redirectUri,
    pkce: 'S256',
    redirectStateCookieName: STATE_COOKIE,
    verifierCookieName: VERIFIER_COOKIE,
    cookie: { path: '/healow', secure: secureCookies, sameSite: 'lax', httpOnly: true, maxAge: PENDING_TTL_MS / 1000 },
    userAgent: 'healow-sync',
    generateStateFunction: async (request: FastifyRequest) => await states.issue(pendingConnect.get(request)),
    checkStateFunction: async (request: FastifyRequest) => {
      const { state } = request.query as { state?: unknown }
      const pending = await states.consume(state, request.cookies[STATE_COOKIE], Date.now())
      if (!pending) return false
      checkedPending.set(request, pending)
      return true
    }
  })

  const isAllowedReturnTo = (returnTo: string): boolean => returnToAllowed(returnTo, config.allowedOrigins)

  const service: HealowConnect = {
    isAllowedReturnTo,

    async start (request, reply, tenant, returnTo) {
      const practice = app.tenantDirectory.get(tenant)
      if (!practice) {
        throw withPersonMessage(requestError(404, `Unknown practice "${tenant.slice(0, 64)}": look it up with GET /tenants?q=…`),
          'We could not find this practice in the list of practices that use Healow. Search for it again on the start page.')
      }
      if (returnTo !== undefined && !isAllowedReturnTo(returnTo)) {
        throw withPersonMessage(requestError(400, 'return_to must be an absolute URL on PUBLIC_URL or one of ALLOWED_ORIGINS'),
          'The app that sent you here asked to send you back to an address this service does not trust, so nothing was started. Start again from your app, or use the start page.')
      }
      pendingConnect.set(
        request,
        { practiceId: practice.id, returnTo: returnTo ?? null, expiresAt: Date.now() + PENDING_TTL_MS }
      )
      const url = new URL(await (await healowOAuth2()).generateAuthorizationUri(request, reply))
      // Healow needs the practice's FHIR base as the audience of the token.
      url.searchParams.set('aud', practice.fhirBase)
      return url.toString()
    },

    async finish (request, reply) {
      const query = request.query as Record<string, string | undefined>
      if (query.error !== undefined) {
        const pending = await states.consume(query.state, request.cookies[STATE_COOKIE], Date.now())
        if (!pending) throw withPersonMessage(requestError(400, 'Healow returned an error for an authorization this browser did not start (unknown, expired or reused state)'), STALE_SIGN_IN)
        reply.clearCookie(STATE_COOKIE, { path: '/healow' }).clearCookie(VERIFIER_COOKIE, { path: '/healow' })
        return { kind: 'declined', practiceId: pending.practiceId, error: query.error.slice(0, 64), description: (query.error_description ?? '').slice(0, 300), returnTo: pending.returnTo }
      }
      if (typeof query.code !== 'string' || query.code.length === 0) throw withPersonMessage(requestError(400, 'The callback needs either code and state, or error'), STALE_SIGN_IN)

      // Loaded before the exchange, so that a failure to load is not reported as Healow's.
      const oauth2 = await healowOAuth2()
      let response: Record<string, unknown>
      try {
        response = (await oauth2.getAccessTokenFromAuthorizationCodeFlow(
          request,
          reply
        )).token as unknown as Record<string, unknown>
      } catch (err) {
        if ((err as Error).message === 'Invalid state') throw withPersonMessage(requestError(400, 'Invalid OAuth state: this browser did not start the authorization, or it was already used or expired; start again at /healow/connect'), STALE_SIGN_IN)
        const payload = (err as { data?: { payload?: { error?: string } } }).data?.payload
        if (payload?.error) throw withPersonMessage(requestError(400, `Healow refused the authorization code (${payload.error}); start again at /healow/connect`), STALE_SIGN_IN)
        request.log.warn({ err: (err as Error).message }, 'code exchange failed')
        throw withPersonMessage(new GatewayError(502, 'upstream_unavailable', "Could not reach Healow's token endpoint to finish the connection; try again"),
          'Healow did not answer while we finished connecting your records. Nothing was stored. Try connecting again in a few minutes.')
      }
      const pending = checkedPending.get(request)
      const practice = app.tenantDirectory.get(pending.practiceId)
      if (!practice) throw requestError(404, 'The practice is no longer in the directory')
      const made = connectionFromTokenResponse(response, practice, config.HEALOW_CLIENT_ID)
      if (!made.ok) throw new GatewayError(502, 'upstream_unavailable', made.message)
      const connectionId = await app.vault.create(made.connection)
      const handoff = await app.connections.createHandoff(connectionId)
      request.log.info({ connectionId, practiceId: practice.id }, 'patient connected')
      return { kind: 'connected', connectionId, handoff, practiceId: practice.id, returnTo: pending.returnTo }
    }
  }
  app.decorate('healowConnect', service)
}, { name: 'oauth', dependencies: ['config', 'store', 'vault', 'connections', 'tenant-directory'] })
