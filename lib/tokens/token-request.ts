/**
 * One call to an OAuth token endpoint, sorted by what Healow may have done with it.
 *
 * Healow's refresh tokens are single use: the refresh that succeeds at Healow rotates the token,
 * and presenting the old one again answers invalid_grant and revokes the whole grant. So what
 * matters about a failed call is whether Healow could have acted on it:
 *
 * - `not_processed`: Healow provably did nothing (the connection was refused, or Healow answered
 *   429 or 503, which it sends instead of handling the request). Safe to send again.
 * - `unknown`: the request reached Healow and its answer was lost (the connection was cut
 *   mid-answer, another 5xx, a 2xx without tokens). Healow may have rotated the token; the caller
 *   must not send it again as a retry of this call.
 * - An answer that does not come: the request is never abandoned. The caller may stop waiting
 *   (see `settleWithin`), but the promise keeps running until Healow answers or the HTTP client's
 *   own idle limits end it, and its outcome is what the caller commits.
 */

import { fetch, type Response } from '../http-client.js'

export interface TokenEndpointAnswer {
  status: number
  /** Healow's JSON body as is (Mere compatibility passes it back unchanged). */
  body: Record<string, unknown>
}

export type TokenCallOutcome =
  | { kind: 'ok', answer: TokenEndpointAnswer }
  /** The grant is dead (single-use refresh token spent, revoked, or expired): only a new login helps. */
  | { kind: 'invalid_grant', answer: TokenEndpointAnswer }
  /** Healow refused for a reason that is not the patient's (bad client credentials, bad request). */
  | { kind: 'rejected', answer: TokenEndpointAnswer }
  /** Healow did nothing with the request: it may be sent again. */
  | { kind: 'not_processed', reason: string }
  /**
   * Healow may have acted on the request, and its answer is lost: never send the same refresh
   * token again as a retry.
   */
  | { kind: 'unknown', reason: string }

export interface TokenRequest {
  url: string
  headers: Record<string, string>
  form: URLSearchParams
}

// Statuses that a server (or the load balancer in front of it) sends instead of handling a request.
const NOT_HANDLED_STATUSES = new Set([429, 503])
// Error codes of a connection that never carried the request.
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

function errorCode (err: unknown): string {
  const e = err as Error & { code?: string, cause?: { code?: string } }
  return e.cause?.code ?? e.code ?? e.name
}

/** Whether a fetch that failed provably never carried the request (nothing reached Healow). */
export function neverSent (err: unknown): boolean {
  return NEVER_SENT_CODES.has(errorCode(err))
}

function parseObject (text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    // JSON.parse makes objects of this realm; null, strings, numbers and arrays are not what a token endpoint answers.
    return parsed instanceof Object && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/**
 * Sends the request and resolves once it has ended, never rejects. No timeout of our own: an
 * answer that is slow still counts (undici ends a connection silent for 300 s).
 */
export async function sendTokenRequest ({ url, headers, form }: TokenRequest): Promise<TokenCallOutcome> {
  let response: Response
  try {
    response = await fetch(url, { method: 'POST', headers, body: form, redirect: 'manual' })
  } catch (err) {
    const code = errorCode(err)
    return neverSent(err)
      ? { kind: 'not_processed', reason: `token endpoint unreachable (${code})` }
      : { kind: 'unknown', reason: `token endpoint dropped the request (${code}); Healow may have acted on it` }
  }
  let text: string
  try {
    text = await response.text()
  } catch (err) {
    if (NOT_HANDLED_STATUSES.has(response.status)) return { kind: 'not_processed', reason: `token endpoint answered ${response.status}` }
    return { kind: 'unknown', reason: `token endpoint's answer (${response.status}) was cut off mid-body (${errorCode(err)}); Healow may have acted on it` }
  }
  if (NOT_HANDLED_STATUSES.has(response.status)) return { kind: 'not_processed', reason: `token endpoint answered ${response.status}` }
  if (response.status >= 500) return { kind: 'unknown', reason: `token endpoint answered ${response.status}; Healow may have acted on it` }
  const body = parseObject(text)
  if (response.ok) {
    return body && typeof body.access_token === 'string'
      ? { kind: 'ok', answer: { status: response.status, body } }
      : { kind: 'unknown', reason: `token endpoint answered ${response.status} without a usable token; Healow may have acted on it` }
  }
  const answer = { status: response.status, body: body ?? {} }
  return answer.body.error === 'invalid_grant' ? { kind: 'invalid_grant', answer } : { kind: 'rejected', answer }
}

/** The promise's value if it settles within `ms`, else undefined; the promise itself runs on. */
export async function settleWithin<T> (promise: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms) })
  try {
    return await Promise.race([promise.then((value) => ({ value })), timeout])
  } finally {
    clearTimeout(timer)
  }
}
