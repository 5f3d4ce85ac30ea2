import { randomBytes } from 'node:crypto'
import type { GatewayEvent } from '../events.js'

/** One webhook as it is stored and sent: the body is fixed once, so every retry signs the same bytes. */
export interface WebhookMessageInput {
  id: string
  type: GatewayEvent['type']
  body: string
  createdAt: number
}

/**
 * Only these fields of an event reach the receiver: ids of the gateway's own objects and counts.
 * Listing them (rather than passing the event on) keeps a field added to an event later, which
 * might carry a patient's data, out of webhooks until someone decides it belongs there.
 */
const DATA_FIELDS = ['connectionId', 'practiceId', 'syncId', 'requests', 'resources', 'skippedTypes', 'code'] as const

/** The Standard Webhooks payload `{ type, timestamp, data }` of an event, with a new message id. */
export function webhookMessage (event: GatewayEvent): WebhookMessageInput {
  const source = event as Partial<Record<(typeof DATA_FIELDS)[number], unknown>>
  const data: Record<string, unknown> = {}
  for (const field of DATA_FIELDS) if (source[field] !== undefined) data[field] = source[field]
  const body = JSON.stringify({ type: event.type, timestamp: new Date(event.at).toISOString(), data })
  // No '.' in the id: it is a separator of the signed text.
  return { id: `msg_${randomBytes(16).toString('base64url')}`, type: event.type, body, createdAt: event.at }
}
