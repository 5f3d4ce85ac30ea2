import fp from 'fastify-plugin'
import type { Config } from './config.js'

export interface TokenEndpointAnswer {
  status: number
  /** Healow's JSON body as is (Mere compatibility passes it back unchanged). */
  body: Record<string, unknown>
}

export type TokenCallOutcome =
  | { kind: 'ok', answer: TokenEndpointAnswer }
  /** The grant is dead (single-use refresh token spent, revoked, or expired): only a new login helps. */
  | { kind: 'invalid_grant', answer: TokenEndpointAnswer }
  /** Healow refused for a reason that is not the patient's (bad client credentials, bad request). */
  | { kind: 'rejected', answer: TokenEndpointAnswer }
  /** Worth trying again later: network error, timeout, 429, 5xx. The grant is untouched. */
  | { kind: 'unavailable', reason: string }

// RFC 6749 §2.3.1: the Basic credentials are form-encoded before base64.
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')

/**
 * Calls Healow's token endpoint (one shared OAuth server for every practice) and sorts the
 * answer into what the caller must do next. Secrets go in the Authorization header, never in logs.
 */
export class HealowTokenClient {
  constructor (private readonly config: Pick<Config, 'HEALOW_TOKEN_URL' | 'HEALOW_CLIENT_ID' | 'HEALOW_CLIENT_SECRET' | 'TOKEN_REQUEST_TIMEOUT_MS'>) {}

  private authenticate (form: URLSearchParams): Record<string, string> {
    const { HEALOW_CLIENT_ID: id, HEALOW_CLIENT_SECRET: secret } = this.config
    if (!secret) {
      form.set('client_id', id)
      return {}
    }
    return { authorization: 'Basic ' + Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64') }
  }

  async request (params: Record<string, string>): Promise<TokenCallOutcome> {
    const form = new URLSearchParams(params)
    const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...this.authenticate(form) }
    let response: Response
    try {
      response = await fetch(this.config.HEALOW_TOKEN_URL, {
        method: 'POST', headers, body: form, redirect: 'manual', signal: AbortSignal.timeout(this.config.TOKEN_REQUEST_TIMEOUT_MS)
      })
    } catch (err) {
      const name = (err as Error).name
      return { kind: 'unavailable', reason: name === 'TimeoutError' ? 'token endpoint timed out' : `token endpoint unreachable (${(err as Error & { cause?: { code?: string } }).cause?.code ?? name})` }
    }
    const text = await response.text()
    let body: Record<string, unknown>
    try {
      const parsed: unknown = JSON.parse(text)
      body = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : {}
    } catch {
      body = {}
    }
    const answer = { status: response.status, body }
    if (response.status === 429 || response.status >= 500) return { kind: 'unavailable', reason: `token endpoint answered ${response.status}` }
    if (response.ok && typeof body.access_token === 'string') return { kind: 'ok', answer }
    if (body.error === 'invalid_grant') return { kind: 'invalid_grant', answer }
    return { kind: 'rejected', answer }
  }

  async refresh (refreshToken: string): Promise<TokenCallOutcome> {
    return await this.request({ grant_type: 'refresh_token', refresh_token: refreshToken })
  }
}

declare module 'fastify' {
  interface FastifyInstance { healowTokenClient: HealowTokenClient }
}

export default fp(async (app) => {
  app.decorate('healowTokenClient', new HealowTokenClient(app.config))
}, { name: 'healow-token-client', dependencies: ['config'] })
