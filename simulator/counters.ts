import { createHash } from 'node:crypto'

/**
 * What the simulator has seen, for tests and benchmarks.
 * - `token`: `{grant_type}:{outcome}` → count; outcome is `ok` or the OAuth error code
 *   (`invalid_grant`, `invalid_client`, `invalid_request`, …), `rate_limited` or `token_down`.
 * - `authorize`: practice id → /authorize requests.
 * - `fhir`: practice id → FHIR requests (every status, metadata included).
 * - `rateLimited`: requests answered 429.
 * - `refreshTokenReuse`: refresh_token grants that reached the authorization server with a refresh
 *   token it had been shown before (a client that spends a single-use token twice).
 */
export interface CounterSnapshot {
  token: Record<string, number>
  authorize: Record<string, number>
  fhir: Record<string, number>
  rateLimited: number
  refreshTokenReuse: number
}

export class Counters {
  private counts: CounterSnapshot = Counters.empty()
  // Hashes of every refresh token presented; kept across resets, as Healow remembers spent tokens.
  private readonly presented = new Set<string>()

  countRefreshTokenPresented (refreshToken: string): void {
    const hash = createHash('sha256').update(refreshToken).digest('base64url')
    if (this.presented.has(hash)) this.counts.refreshTokenReuse++
    else this.presented.add(hash)
  }

  countToken (grantType: string, outcome: string): void {
    increment(this.counts.token, `${grantType}:${outcome}`)
  }

  countAuthorize (practiceId: string): void {
    increment(this.counts.authorize, practiceId)
  }

  countFhir (practiceId: string): void {
    increment(this.counts.fhir, practiceId)
  }

  countRateLimited (): void {
    this.counts.rateLimited++
  }

  snapshot (): CounterSnapshot {
    return structuredClone(this.counts)
  }

  reset (): void {
    this.counts = Counters.empty()
  }

  private static empty (): CounterSnapshot {
    return { token: {}, authorize: {}, fhir: {}, rateLimited: 0, refreshTokenReuse: 0 }
  }
}

function increment (counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1
}
