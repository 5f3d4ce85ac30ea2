import { setTimeout as sleep } from 'node:timers/promises'

export type BudgetDecision = { ok: true } | { ok: false, retryAfterMs: number }

/**
 * What the gateway may still send to one practice at Healow. One interface, so that a shared
 * implementation (PostgreSQL, several instances) can replace the in-process one.
 */
export interface RequestBudget {
  /** Takes one request from the practice's budget, waiting briefly when it is about to free up. */
  take (practiceId: string): Promise<BudgetDecision>
  /**
   * Background work (the sync): a slot now only while more than `keepFree` of the window stay free
   * and no request is queued, so interactive reads always find one; otherwise refused with how
   * long to wait before asking again.
   */
  takeSpare (practiceId: string, keepFree: number): Promise<BudgetDecision>
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
    window.start += countDue(sent, window.start, now - this.#windowMs)
    // Dropping expired times from the front only now and then keeps a large limit O(1) per request.
    // Stryker disable next-line all: memory and speed only; compacting at any moment keeps the same times in the window
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

  async takeSpare (practiceId: string, keepFree: number): Promise<BudgetDecision> {
    const now = this.#now()
    const window = this.windowOf(practiceId)
    const { sent } = window
    const inWindow = sent.length - window.start - countDue(sent, window.start, now - this.#windowMs)
    const spare = this.#limit - keepFree
    if (spare < 1) return { ok: false, retryAfterMs: this.#windowMs }
    // In process, a reservation made while the window was full lies before its oldest spare slot frees
    // (or the hold-off ends); the PostgreSQL budget, which shares spareWait, needs the term.
    // Stryker disable next-line ConditionalExpression: equivalent in process, as said above
    const queuedUntil = sent.length > window.start ? sent[sent.length - 1] : 0
    const wait = spareWait({
      now,
      inWindow,
      spare,
      blockedUntil: window.blockedUntil,
      queuedUntil,
      oldestFreeing: () => sent[sent.length - spare] + this.#windowMs
    })
    if (wait > 0) return { ok: false, retryAfterMs: wait }
    sent.push(now)
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

/** How many of the ascending `sent[start..]` lie at or before `before` (already out of the window). */
function countDue (sent: number[], start: number, before: number): number {
  let n = 0
  while ((sent[start + n] ?? Infinity) <= before) n++
  return n
}

/** Milliseconds until a background request may go (0: now), shared by the in-process and PostgreSQL budgets. */
export function spareWait ({ now, inWindow, spare, blockedUntil, queuedUntil, oldestFreeing }: {
  now: number, inWindow: number, spare: number, blockedUntil: number, queuedUntil: number, oldestFreeing: () => number
}): number {
  const waits = [blockedUntil - now, queuedUntil - now]
  if (inWindow >= spare) waits.push(oldestFreeing() - now)
  const wait = Math.max(0, ...waits)
  // A queued or blocked request may free up within a millisecond; never answer "0 but refused".
  return wait > 0 || inWindow >= spare ? Math.max(1, wait) : 0
}
