// Healow's shared OAuth server, played by oidc-provider (a certified OpenID provider)
// configured to act as Healow's does: `aud` is the resource indicator, access
// tokens are JWTs for one practice's FHIR base, PKCE S256 only, rotating refresh tokens.
import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto'
import type { RegisteredClients } from './clients.js'
import { SMART_SCOPES } from './fhir-types.js'
import { escapeHtml } from './html.js'
import { oidcErrors, Provider, withoutExpectedWarnings } from './quiet-oidc-provider.js'
import type { SimulatorState } from './state.js'

export const OAUTH_PATHS = {
  authorize: '/oauth/oauth2/authorize',
  token: '/oauth/oauth2/token',
  jwks: '/oauth/oauth2/jwks',
  interaction: '/oauth/interaction'
}

/** OIDC scopes Healow knows; everything else in `scope` is a SMART resource scope. */
export const OIDC_SCOPES = ['openid', 'fhirUser', 'offline_access']

const TEN_YEARS = 10 * 365 * 24 * 3600

export interface AuthorizationServer {
  provider: Provider
  issuer: string
  /** The public half of the key that signs access tokens and id_tokens. */
  publicJwk: JsonWebKey
}

interface ProviderClient { clientAuthMethod: string; grantTypeAllowed (type: string): boolean }
interface ProviderContext { oidc: { params?: Record<string, unknown> } }

export async function createAuthorizationServer (
  state: SimulatorState,
  clients: RegisteredClients
): Promise<AuthorizationServer> {
  const issuer = `${state.url}/oauth`
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const kid = randomBytes(8).toString('hex')
  const signing = { kid, alg: 'RS256', use: 'sig' }
  const { accessTokenTtl, refreshTokenTtl } = state.options

  const provider = await withoutExpectedWarnings(() => new Provider(issuer, {
    clients: clients.metadata,
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), ...signing }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: { authorization: OAUTH_PATHS.authorize, token: OAUTH_PATHS.token, jwks: OAUTH_PATHS.jwks },
    scopes: OIDC_SCOPES,
    claims: { openid: ['sub', 'name', 'email'], fhirUser: ['fhirUser'] },
    // Without this, fhirUser would only be available from userinfo, which Healow does not offer.
    conformIdTokenClaims: false,
    // Healow requires redirect_uri even for a client with a single one.
    allowOmittingSingleRegisteredRedirectUri: false,
    extraParams: {
      aud (_ctx: unknown, value: unknown) {
        if (typeof value !== 'string' || value === '') throw new oidcErrors.InvalidRequest("missing required parameter 'aud'")
      }
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // `aud` plays the part of RFC 8707's `resource`.
        defaultResource: (ctx: ProviderContext, _client: unknown, oneOf?: string[]) => oneOf ?? ctx.oidc.params?.aud,
        // Without it an `openid` request would get an opaque token meant for userinfo.
        useGrantedResource: () => true,
        getResourceServerInfo (_ctx: unknown, resource: string) {
          if (!state.practiceByBase(resource)) throw new oidcErrors.InvalidTarget(`aud ${resource} is not the FHIR base of a practice`)
          return {
            scope: SMART_SCOPES.join(' '),
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: 'RS256' } }
          }
        }
      }
    },
    findAccount (_ctx: unknown, patientId: string) {
      const practice = state.practices.find((p) => p.patientId === patientId)
      if (!practice) return undefined
      return {
        accountId: patientId,
        claims: () => ({
          sub: patientId,
          fhirUser: `Patient/${patientId}`,
          name: state.records(practice).patientName(),
          email: `${practice.login}@example.org`
        })
      }
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `${OAUTH_PATHS.interaction}/${interaction.uid}` },
    // Refresh tokens only for a client that authenticates and was granted offline_access.
    issueRefreshToken: (_ctx: unknown, client: ProviderClient, source: { scopes: Set<string> }) =>
      client.clientAuthMethod !== 'none' && client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access'),
    // Healow's refresh tokens are single use: each refresh returns a new one.
    rotateRefreshToken: true,
    expiresWithSession: () => false,
    ttl: {
      AccessToken: () => accessTokenTtl,
      RefreshToken: () => refreshTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      // Longer than any refresh token, so that a connection refreshed in time lives for ever.
      Grant: TEN_YEARS
    },
    // Healow sends no CORS headers; they are stripped below, and no Origin is refused.
    clientBasedCORS: () => true,
    renderError (ctx: { type: string; body: string }, out: Record<string, string>) {
      ctx.type = 'html'
      ctx.body = `<!doctype html><title>Error</title><h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`
    }
  }))

  provider.on('access_token.issued', (token) => { state.accessTokens.issued.add(token.jti) })

  provider.use(async (ctx, next) => {
    await next()
    for (const header of Object.keys(ctx.response.headers)) {
      if (header.startsWith('access-control-')) ctx.remove(header)
    }
    const oidc = ctx.oidc
    if (oidc?.route !== 'token') return
    const grantType = String(oidc.params?.grant_type ?? 'unknown')
    const body = ctx.body as Record<string, unknown>
    if (ctx.status !== 200) {
      state.counters.countToken(grantType, String(body?.error ?? ctx.status))
      return
    }
    state.counters.countToken(grantType, 'ok')
    // Healow echoes every granted scope and names the patient; oidc-provider gives only the resource scopes.
    const grant = oidc.entities.Grant
    if (grant) {
      body.patient = grant.accountId
      body.scope = [grant.getOIDCScope(), oidc.entities.AccessToken?.scope].filter(Boolean).join(' ')
    }
  })

  return { provider, issuer, publicJwk: { ...publicKey.export({ format: 'jwk' }), ...signing } }
}
