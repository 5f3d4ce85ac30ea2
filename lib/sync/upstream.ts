import type { RequestBudget } from '../budget/sliding-window.js'
import { upstreamRetryAfterMs } from '../fhir/headers.js'
import type { Clock } from './clock.js'
import { fetch, type Response } from '../http-client.js'

/** A Healow answer the sync reads: status and the body text (never more than the cap). */
export interface UpstreamAnswer { status: number, text: string }

/** Healow could not be reached or kept failing: the run stops and continues from its checkpoints later. */
export class SyncInterruptedError extends Error {
  override name = 'SyncInterruptedError'
}

/** The body was larger than the cap; nothing of it is kept. */
export class TooLargeError extends Error {
  override name = 'TooLargeError'
}

export interface UpstreamOptions {
  connectionId: string
  practiceId: string
  budget: RequestBudget
  /** Slots of the practice's window the sync leaves to interactive reads. */
  keepFree: number
  /** A usable access token; `rejected` is one Healow just answered 401 to. */
  accessToken: (rejected?: string) => Promise<string>
  clock: Clock
  timeoutMs: number
  signal: AbortSignal
  /** Called for every request that reached Healow. */
  onRequest: () => void
  /** Waits after a failed attempt (5xx, reset, timeout); one more attempt than there are waits. */
  retryDelaysMs?: number[]
}

/**
 * The sync's own way to Healow: each request takes a slot only when the practice's window has
 * spare room (interactive reads keep theirs), carries a fresh token (one refresh and retry on a
 * 401), and is retried a few times through an outage before the run is interrupted.
 */
export class SyncUpstream {
  readonly #retryDelaysMs: number[]

  constructor (private readonly o: UpstreamOptions) {
    this.#retryDelaysMs = o.retryDelaysMs ?? [1000, 5000, 15_000]
  }

  /** Waits for a spare slot in the practice's budget. */
  private async slot (): Promise<void> {
    for (;;) {
      const decision = await this.o.budget.takeSpare(this.o.practiceId, this.o.keepFree)
      if (decision.ok) return
      await this.o.clock.sleep(Math.min(decision.retryAfterMs, 5000), this.o.signal)
    }
  }

  async get (url: string, maxBytes: number): Promise<UpstreamAnswer> {
    let rejected: string | undefined
    let problem = ''
    for (let attempt = 0; attempt <= this.#retryDelaysMs.length; attempt++) {
      if (attempt > 0 && problem !== '') await this.o.clock.sleep(this.#retryDelaysMs[attempt - 1], this.o.signal)
      const token = await this.o.accessToken(rejected)
      await this.slot()
      let response: Response
      try {
        this.o.onRequest()
        response = await fetch(url, {
          headers: { accept: 'application/fhir+json', authorization: `Bearer ${token}`, 'user-agent': 'healow-sync' },
          redirect: 'manual',
          signal: AbortSignal.any([this.o.signal, AbortSignal.timeout(this.o.timeoutMs)])
        })
      } catch (err) {
        if (this.o.signal.aborted) throw err
        problem = 'Healow could not be reached or did not answer in time'
        continue
      }
      if (response.status === 401) {
        await response.body?.cancel()
        // A second 401, to a token refreshed a moment ago, is not the type's refusal: stop and try later.
        if (rejected !== undefined) throw new SyncInterruptedError('Healow refused a freshly refreshed access token; the sync continues from its last checkpoint later')
        rejected = token
        problem = ''
        attempt--
        continue
      }
      if (response.status === 429) {
        await response.body?.cancel()
        // Not ours to cause (the budget keeps below Healow's count), but someone spent it: wait it out.
        await this.o.budget.holdOff(this.o.practiceId, upstreamRetryAfterMs(response.headers.get('retry-after') ?? undefined))
        problem = ''
        attempt--
        continue
      }
      if (response.status >= 500) {
        await response.body?.cancel()
        problem = `Healow answered ${response.status}`
        continue
      }
      try {
        return { status: response.status, text: await readCapped(response, maxBytes) }
      } catch (err) {
        if (err instanceof TooLargeError || this.o.signal.aborted) throw err
        problem = 'Healow dropped the connection mid-answer'
      }
    }
    throw new SyncInterruptedError(`${problem}; the sync continues from its last checkpoint later`)
  }
}

/** Reads a body as it streams, stopping as soon as it passes `maxBytes`. */
async function readCapped (response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (declared > maxBytes) {
    await response.body?.cancel()
    throw new TooLargeError(`${declared} bytes`)
  }
  if (!response.body) return ''
  // Decoded as it arrives: a Binary of megabytes is never held as chunks, a joined buffer and a string at once.
  const decoder = new TextDecoder()
  let text = ''
  let size = 0
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new TooLargeError(`more than ${maxBytes} bytes`)
    text += decoder.decode(chunk, { stream: true })
  }
  return text + decoder.decode()
}
