import type { ConnectResult } from './connect-result.js'

/** The signed cookie that carries the connect result from the callback to the result page. */
export const CONNECT_RESULT_COOKIE = 'healow-connect-result'
/** Long enough to reload the page after the code expired (5 minutes) and still see what happened. */
export const CONNECT_RESULT_MAX_AGE_S = 60 * 60

export function encodeConnectResult (result: ConnectResult): string {
  return Buffer.from(JSON.stringify(result)).toString('base64url')
}

/** The result in a cookie whose signature has been checked; null for anything not of its shape. */
export function decodeConnectResult (text: string): ConnectResult | null {
  let value: Record<string, unknown>
  try { value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown> } catch { return null }
  if (typeof value !== 'object' || value === null || typeof value.practiceId !== 'string') return null
  if (value.kind === 'connected' && typeof value.handoff === 'string' && typeof value.expiresAt === 'number') {
    return { kind: 'connected', practiceId: value.practiceId, handoff: value.handoff, expiresAt: value.expiresAt }
  }
  if (value.kind === 'declined' && typeof value.error === 'string' && typeof value.description === 'string') {
    return { kind: 'declined', practiceId: value.practiceId, error: value.error, description: value.description }
  }
  return null
}
