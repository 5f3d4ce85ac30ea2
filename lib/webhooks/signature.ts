import { createHmac } from 'node:crypto'

/** The headers of one delivery attempt, as Standard Webhooks names them. */
export interface WebhookHeaders {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/**
 * Signs `{id}.{timestamp}.{body}` with HMAC-SHA256. The id and the timestamp are signed with the
 * body so a receiver can trust them: the id is its idempotency key, the timestamp its replay guard.
 */
export function signWebhook (key: Buffer, id: string, timestampSeconds: number, body: string): WebhookHeaders {
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` }
}
