import { randomBytes } from 'node:crypto'
import { sha256 } from './connections.js'
import type { PendingAuthorization, PendingAuthorizationStore } from '../store/types.js'

// Ours are 43 characters; a far longer one is not ours, and is not hashed or looked up.
const MAX_STATE_LENGTH = 200

/**
 * The OAuth `state` of a sign-in: 256 random bits, sent to Healow and kept in the browser's
 * httpOnly cookie, recorded in the store only as its hash together with what the sign-in is for.
 * A callback is accepted only when both hold: the cookie proves the same browser started the
 * sign-in, the store proves it is the first use and not expired.
 */
export class OAuthStates {
  constructor (private readonly pending: PendingAuthorizationStore) {}

  async issue (pending: PendingAuthorization): Promise<string> {
    const state = randomBytes(32).toString('base64url')
    await this.pending.create(sha256(state), pending)
    return state
  }

  /**
   * What the callback's `state` stood for, or null. The cookie is compared first: a callback in
   * another browser must not use up the state the patient's own browser is about to return.
   */
  async consume (returned: unknown, cookie: string | undefined, now: number): Promise<PendingAuthorization | null> {
    if (typeof returned !== 'string' || returned.length > MAX_STATE_LENGTH || cookie !== returned) return null
    return await this.pending.consume(sha256(returned), now)
  }
}

/** Where a sign-in may send the browser back to: an http(s) URL on an allowed origin, no credentials in it. */
export function isAllowedReturnTo (returnTo: string, allowedOrigins: readonly string[]): boolean {
  let url: URL
  try { url = new URL(returnTo) } catch { return false }
  return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && allowedOrigins.includes(url.origin)
}
