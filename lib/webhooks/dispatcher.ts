import { randomUUID } from 'node:crypto'
import { Agent, request } from 'undici'
import type { GatewayEvent } from '../events.js'
import type { PartLog } from '../log.js'
import type { WebhookOutboxStore, WebhookRow, WebhookStatus } from '../store/types.js'
import { webhookMessage } from './message.js'
import { signWebhook } from './signature.js'

/** Where the dispatcher reads the time, so a test can live through a day of retries in seconds. */
export interface Clock { now (): number }
export const systemClock: Clock = { now: () => Date.now() }

export interface RetrySchedule {
  /** Wait after the first failure; each later wait is `factor` times the one before, up to `maxDelayMs`. */
  firstDelayMs: number
  factor: number
  maxDelayMs: number
  /** No attempt starts later than this after the event: then the message is given up. */
  giveUpAfterMs: number
}

/** About twenty attempts within the day: 5 s, 15 s, 45 s, … then every two hours. */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  firstDelayMs: 5_000, factor: 3, maxDelayMs: 2 * 3_600_000, giveUpAfterMs: 24 * 3_600_000
}

export interface WebhookDispatcherOptions {
  url: string
  key: Buffer
  outbox: WebhookOutboxStore
  log: PartLog
  clock?: Clock
  /** In [0, 1); spreads retries so receivers coming back are not hit by every sender at once. */
  random?: () => number
  retry?: RetrySchedule
  /** Bound on one attempt, connection to last byte; Standard Webhooks suggests 15 to 30 s. */
  timeoutMs?: number
  /** How often the outbox is looked at for retries and for messages other instances enqueued. */
  pollMs?: number
  batchSize?: number
}

type Outcome = { ok: true } | { ok: false, problem: string, retryAfterMs?: number, final?: boolean }

const KEEP_SETTLED_MS = 7 * 86_400_000
const PRUNE_EVERY_MS = 3_600_000

/**
 * Delivers gateway events to WEBHOOK_URL as Standard Webhooks. Publishing only writes the message
 * to the outbox in the store; sending happens here, in the background, with retries for a day.
 * Delivery is at least once: the webhook-id stays the same on every attempt so the receiver can
 * drop repeats.
 */
export class WebhookDispatcher {
  readonly #owner = randomUUID()
  readonly #clock: Clock
  readonly #random: () => number
  readonly #retry: RetrySchedule
  readonly #timeoutMs: number
  readonly #pollMs: number
  readonly #batchSize: number
  readonly #agent: Agent
  readonly #enqueues = new Set<Promise<unknown>>()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = true
  #lastPruneAt = 0

  constructor (private readonly o: WebhookDispatcherOptions) {
    this.#clock = o.clock ?? systemClock
    this.#random = o.random ?? Math.random
    this.#retry = o.retry ?? DEFAULT_RETRY_SCHEDULE
    this.#timeoutMs = o.timeoutMs ?? 15_000
    this.#pollMs = o.pollMs ?? 5_000
    this.#batchSize = o.batchSize ?? 20
    const timeout = this.#timeoutMs
    this.#agent = new Agent({ connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout })
  }

  /**
   * Writes the event's webhook to the outbox and returns its id; never throws (a store that fails
   * is logged), so whoever published the event is never held up or broken by webhooks.
   */
  async enqueue (event: GatewayEvent): Promise<string | null> {
    const message = webhookMessage(event)
    const write = this.o.outbox.enqueue(message).then(() => {
      this.#kick()
      return message.id
    }, (err: unknown) => {
      this.o.log.warn({ err, webhookId: message.id, type: message.type }, 'webhook could not be queued')
      return null
    })
    this.#enqueues.add(write)
    void write.finally(() => this.#enqueues.delete(write))
    return await write
  }

  /** Starts the background loop (polling every pollMs, and at once after each enqueue). */
  start (): void {
    this.#stopped = false
    this.#kick()
  }

  /** Stops the loop after the attempts under way; queued messages stay in the outbox for the next start. */
  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await Promise.allSettled([...this.#enqueues])
    await this.#running
    await this.#agent.close()
  }

  /** Sends every message due now, as one instance among possibly several; returns how many were attempted. */
  async deliverDue (): Promise<number> {
    let attempted = 0
    for (;;) {
      const leaseMs = this.#timeoutMs + 30_000
      const claimed = await this.o.outbox.claimDue(this.#owner, this.#clock.now(), leaseMs, this.#batchSize)
      await Promise.all(claimed.map(async (row) => { await this.#deliver(row) }))
      attempted += claimed.length
      if (claimed.length < this.#batchSize) return attempted
    }
  }

  /** What the outbox holds: counts per state and the latest messages given up on. */
  async status (): Promise<Awaited<ReturnType<WebhookOutboxStore['summary']>>> {
    return await this.o.outbox.summary(10)
  }

  #kick (): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#running = this.#pass().finally(() => {
      this.#running = undefined
      if (this.#stopped) return
      if (this.#again) {
        this.#again = false
        this.#kick()
      } else {
        this.#timer = setTimeout(() => this.#kick(), this.#pollMs).unref()
      }
    })
  }

  async #pass (): Promise<void> {
    try {
      await this.deliverDue()
      const now = this.#clock.now()
      if (now - this.#lastPruneAt >= PRUNE_EVERY_MS) {
        this.#lastPruneAt = now
        await this.o.outbox.prune(now - KEEP_SETTLED_MS)
      }
    } catch (err) {
      this.o.log.warn({ err }, 'webhook outbox could not be read; trying again shortly')
    }
  }

  async #deliver (row: WebhookRow): Promise<void> {
    const outcome = await this.#send(row)
    const at = this.#clock.now()
    const details = { webhookId: row.id, type: row.type, attempt: row.attempts }
    let status: WebhookStatus = 'delivered'
    let nextAttemptAt = at
    if (!outcome.ok) {
      const deadline = row.createdAt + this.#retry.giveUpAfterMs
      if (outcome.final === true || at >= deadline) {
        status = 'failed'
        const why = outcome.final === true ? 'the receiver refuses it' : 'after trying for a day'
        this.o.log.warn({ ...details, problem: outcome.problem }, `webhook given up ${why}`)
      } else {
        status = 'pending'
        // The last attempt lands on the deadline rather than the schedule stopping short of it.
        nextAttemptAt = Math.min(deadline, at + Math.max(this.#backoff(row.attempts), outcome.retryAfterMs ?? 0))
        const retryAt = new Date(nextAttemptAt).toISOString()
        this.o.log.info({ ...details, problem: outcome.problem, nextAttemptAt: retryAt }, 'webhook attempt failed; will retry')
      }
    } else {
      this.o.log.info(details, 'webhook delivered')
    }
    const lastError = outcome.ok ? null : outcome.problem
    const outcomeRow = { status, nextAttemptAt, lastError, at }
    const settled = await this.o.outbox.settle(row.id, this.#owner, outcomeRow).catch((err: unknown) => {
      this.o.log.warn({ ...details, err }, 'webhook outcome could not be saved')
      return true
    })
    if (!settled) this.o.log.warn(details, 'webhook lease lapsed during the attempt; another instance may send it again')
  }

  /** Exponential with ±50% jitter. */
  #backoff (attempts: number): number {
    const { firstDelayMs, factor, maxDelayMs } = this.#retry
    const delay = Math.min(maxDelayMs, firstDelayMs * factor ** Math.max(0, attempts - 1))
    return Math.round(delay * (0.5 + this.#random()))
  }

  async #send (row: WebhookRow): Promise<Outcome> {
    const headers = signWebhook(this.o.key, row.id, Math.floor(this.#clock.now() / 1000), row.body)
    try {
      // undici's request never follows a redirect: a 3xx is a failed attempt (the operator should
      // fix WEBHOOK_URL), and the signed body never reaches a host nobody configured.
      const answer = await request(this.o.url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'healow-sync-webhooks' },
        body: row.body,
        signal: AbortSignal.timeout(this.#timeoutMs)
      })
      // The receiver's answer is read only to free the connection, never kept or logged: it is
      // someone else's text and may hold anything.
      await answer.body.dump({ limit: 64 * 1024 }).catch(() => {})
      const status = answer.statusCode
      if (status >= 200 && status < 300) return { ok: true }
      if (status === 410) return { ok: false, problem: 'receiver answered 410 Gone', final: true }
      const problem = `receiver answered ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`
      return { ok: false, problem, retryAfterMs: retryAfterMs(answer.headers['retry-after'], this.#clock.now()) }
    } catch (err) {
      const e = err as { code?: unknown, name?: unknown }
      return { ok: false, problem: `request failed: ${typeof e.code === 'string' ? e.code : String(e.name)}` }
    }
  }
}

/** Retry-After as seconds or an HTTP date, capped at two hours. */
function retryAfterMs (header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 2 * 3_600_000) : undefined
}
