import { setTimeout as sleep } from 'node:timers/promises'

export type BudgetDecision = { ok: true } | { ok: false, retryAfterMs: number }

/**
 * What the gateway may still send to one practice at Healow. One interface, so that a shared
 * implementation (PostgreSQL, several instances) can replace the in-process one.
 */
export interface RequestBudget {
  /** Takes one request from the practice's budget, waiting briefly when it is about to free up. */
  take (practiceId: string): Promise<BudgetDecision>
  /** Healow answered 429 anyway (someone else spent the budget): send nothing for `ms`. */
  holdOff (practiceId: string, ms: number): Promise<void>
}

export interface SlidingWindowOptions {
  /** Requests allowed in any window. */
  limit: number
  windowMs?: number
  /** How long a request may queue for a free slot before it is answered 429 instead. */
  maxWaitMs?: number
  now?: () => number
}

interface PracticeWindow {
  /** Send times granted (past, or reserved in the near future), ascending, from index `start` on. */
  sent: number[]
  start: number
  blockedUntil: number
}

/**
 * A sliding window per practice: at most `limit` requests in any `windowMs`. Sliding rather
 * than calendar-aligned because our clock is not Healow's: whatever minute Healow counts in,
 * it cannot see more than `limit` of ours. Each request reserves the earliest time it may go
 * (virtual scheduling), so waiting requests keep their order without a queue object; one
 * that would wait longer than `maxWaitMs` is refused with the exact wait as `retryAfterMs`.
 */
export class SlidingWindowBudget implements RequestBudget {
  readonly #windows = new Map<string, PracticeWindow>()
  readonly #limit: number
  readonly #windowMs: number
  readonly #maxWaitMs: number
  readonly #now: () => number

  constructor ({ limit, windowMs = 60_000, maxWaitMs = 2_000, now = Date.now }: SlidingWindowOptions) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('a request budget needs a limit of at least 1')
    this.#limit = limit
    this.#windowMs = windowMs
    this.#maxWaitMs = maxWaitMs
    this.#now = now
  }

  /** Reserves the earliest time the next request may go, or refuses when that is too far off. */
  private reserve (practiceId: string): { at: number } | { refusedForMs: number } {
    const now = this.#now()
    const window = this.windowOf(practiceId)
    const { sent } = window
    while (window.start < sent.length && sent[window.start] <= now - this.#windowMs) window.start++
    // Dropping expired times from the front only now and then keeps a large limit O(1) per request.
    if (window.start > 1024 && window.start * 2 > sent.length) {
      window.sent = sent.slice(window.start)
      window.start = 0
    }
    const inWindow = window.sent.length - window.start
    const slotFreesAt = inWindow >= this.#limit ? window.sent[window.sent.length - this.#limit] + this.#windowMs : now
    const at = Math.max(now, window.blockedUntil, slotFreesAt)
    if (at - now > this.#maxWaitMs) return { refusedForMs: at - now }
    window.sent.push(at)
    return { at }
  }

  async take (practiceId: string): Promise<BudgetDecision> {
    const reservation = this.reserve(practiceId)
    if ('refusedForMs' in reservation) return { ok: false, retryAfterMs: reservation.refusedForMs }
    const wait = reservation.at - this.#now()
    if (wait > 0) await sleep(wait)
    return { ok: true }
  }

  async holdOff (practiceId: string, ms: number): Promise<void> {
    const window = this.windowOf(practiceId)
    window.blockedUntil = Math.max(window.blockedUntil, this.#now() + ms)
  }

  private windowOf (practiceId: string): PracticeWindow {
    let window = this.#windows.get(practiceId)
    if (!window) this.#windows.set(practiceId, window = { sent: [], start: 0, blockedUntil: 0 })
    return window
  }
}
