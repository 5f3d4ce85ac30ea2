// Healow since 2025-10-07: 250 requests per minute per practice, FHIR, /authorize and
// /token together; beyond it 429 for the rest of the (calendar) minute, no Retry-After.

export class PracticeRateLimit {
  private windows = new Map<string, { minute: number; used: number }>()

  constructor (private readonly limit: () => number | null) {}

  /** Counts one request against the practice; false when it is over the limit. */
  take (practiceId: string, now = Date.now()): boolean {
    const limit = this.limit()
    if (limit === null) return true
    const minute = Math.floor(now / 60_000)
    const window = this.windows.get(practiceId)
    if (!window || window.minute !== minute) {
      this.windows.set(practiceId, { minute, used: 1 })
      return limit >= 1
    }
    window.used++
    return window.used <= limit
  }

  reset (): void {
    this.windows.clear()
  }
}
