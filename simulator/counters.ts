/**
 * What the simulator has seen, for tests and benchmarks.
 * - `token`: `{grant_type}:{outcome}` → count; outcome is `ok` or the OAuth error code
 *   (`invalid_grant`, `invalid_client`, `invalid_request`, …), `rate_limited` or `token_down`.
 * - `authorize`: practice id → /authorize requests.
 * - `fhir`: practice id → FHIR requests (every status, metadata included).
 * - `rateLimited`: requests answered 429.
 */
export interface CounterSnapshot {
  token: Record<string, number>
  authorize: Record<string, number>
  fhir: Record<string, number>
  rateLimited: number
}

export class Counters {
  private counts: CounterSnapshot = Counters.empty()

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
    return { token: {}, authorize: {}, fhir: {}, rateLimited: 0 }
  }
}

function increment (counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1
}
