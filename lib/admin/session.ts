import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export const ADMIN_SESSION_COOKIE = 'healow-admin-session'
export const ADMIN_SESSION_TTL_MS = 8 * 60 * 60_000

/** Compares in constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function sameSecret (given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()
  return timingSafeEqual(digest(given), digest(expected))
}

export interface AdminSession { nonce: string, expiresAt: number }

/**
 * The operator's session: a random nonce and an expiry, carried in a cookie that @fastify/cookie
 * signs (so nothing is kept server-side and every instance accepts it). Each form carries a CSRF
 * token, the HMAC of the session's nonce under a key only the server has: a page on another
 * site can neither read it nor compute it.
 */
export class AdminSessions {
  constructor (private readonly csrfKey: Buffer, private readonly ttlMs = ADMIN_SESSION_TTL_MS) {}

  start (now: number): { cookie: string, session: AdminSession } {
    const session = { nonce: randomBytes(24).toString('base64url'), expiresAt: now + this.ttlMs }
    return { cookie: `${session.nonce}.${session.expiresAt}`, session }
  }

  /** The session in a cookie whose signature was already checked; null when malformed or expired. */
  read (cookie: string, now: number): AdminSession | null {
    const match = /^([A-Za-z0-9_-]{32})\.(\d{13})$/.exec(cookie)
    if (!match) return null
    const expiresAt = Number(match[2])
    return expiresAt > now ? { nonce: match[1]!, expiresAt } : null
  }

  csrfToken (session: AdminSession): string {
    return createHmac('sha256', this.csrfKey).update(session.nonce).digest('base64url')
  }

  checkCsrf (session: AdminSession, token: unknown): boolean {
    return typeof token === 'string' && sameSecret(token, this.csrfToken(session))
  }
}
