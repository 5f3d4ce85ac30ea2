import type { Readable } from 'node:stream'
import type { RequestBudget } from '../budget/sliding-window.js'
import { GatewayError, RateLimitedError } from '../errors.js'
import { upstreamRetryAfterMs } from './headers.js'

/** Bundles are held in memory to rewrite their links; anything bigger is refused, never passed on unrewritten. */
export const MAX_BUNDLE_BYTES = 20 * 1024 * 1024

/** Drains an upstream body the gateway does not pass on. */
export function discard (stream: Readable): void {
  stream.on('error', () => {})
  stream.resume()
}

/** One request from the practice's Healow budget, or a rate_limited refusal carrying the wait. */
export async function takeBudgetOrRefuse (budget: RequestBudget, practiceId: string): Promise<void> {
  const decision = await budget.take(practiceId)
  if (!decision.ok) {
    throw new RateLimitedError(decision.retryAfterMs, "This practice's share of Healow's request limit is spent for now; try again after Retry-After")
  }
}

/**
 * Healow answered 429 despite the budget (someone else spent it): send nothing until its wait is over, and refuse
 * with that wait.
 */
export async function holdOffAfterUpstream429 (
  budget: RequestBudget,
  practiceId: string,
  retryAfter: string | string[] | undefined
): Promise<GatewayError> {
  const waitMs = upstreamRetryAfterMs(retryAfter)
  await budget.holdOff(practiceId, waitMs)
  return new RateLimitedError(waitMs, "Healow's request limit for this practice is reached; try again after Retry-After")
}

/**
 * An upstream Bundle's text, refused past MAX_BUNDLE_BYTES (plain listeners: an async iterator costs more than a
 * small Bundle's parse).
 */
export function readBundleText (stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BUNDLE_BYTES) {
        stream.destroy()
        reject(new GatewayError(502, 'upstream_unavailable', `Healow's Bundle is larger than ${MAX_BUNDLE_BYTES >> 20} MB; ask for smaller pages`))
        return
      }
      chunks.push(chunk)
    })
    // One chunk (most Bundles) is decoded as it is, without a copy.
    stream.on('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8')))
    stream.on('error', (err) => reject(upstreamFailure(err)))
  })
}

/** Errors from undici / @fastify/reply-from while talking to Healow. */
export function upstreamFailure (error: { code?: string, cause?: unknown, statusCode?: number }): GatewayError {
  const code = (error.cause as { code?: string } | undefined)?.code ?? error.code
  if (error.statusCode === 504 || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new GatewayError(504, 'upstream_timeout', 'Healow did not answer in time; try again later')
  }
  return new GatewayError(502, 'upstream_unavailable', 'Healow could not be reached or dropped the connection; try again later')
}
