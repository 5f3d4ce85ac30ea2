import type { Config } from '../config.js'
import { sendTokenRequest, type TokenCallOutcome } from './token-request.js'

export type { TokenCallOutcome, TokenEndpointAnswer } from './token-request.js'

// RFC 6749 §2.3.1: the Basic credentials are form-encoded before base64.
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')

/**
 * Calls Healow's token endpoint (one shared OAuth server for every practice) and sorts the
 * answer into what the caller must do next (lib/tokens/token-request.ts). A call is never
 * abandoned: its promise resolves when Healow's answer has arrived or is known to be lost.
 * Secrets go in the Authorization header, never in logs.
 */
export class HealowTokenClient {
  constructor (private readonly config: Pick<Config, 'HEALOW_TOKEN_URL' | 'HEALOW_CLIENT_ID' | 'HEALOW_CLIENT_SECRET'>) {}

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
    return await sendTokenRequest({ url: this.config.HEALOW_TOKEN_URL, headers, form })
  }

  async refresh (refreshToken: string): Promise<TokenCallOutcome> {
    return await this.request({ grant_type: 'refresh_token', refresh_token: refreshToken })
  }
}
