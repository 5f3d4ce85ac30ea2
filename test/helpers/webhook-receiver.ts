import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

type Test = { teardown: (fn: () => unknown) => void }

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders
  /** The body exactly as it arrived: a signature covers these bytes, not a re-serialised object. */
  body: string
}

/**
 * A Standard Webhooks verifier written from the specification, independent of the gateway's
 * signing code: HMAC-SHA256 keyed with the base64-decoded bytes after `whsec_`, over
 * `{webhook-id}.{webhook-timestamp}.{body}`, compared in constant time with each space-separated
 * `v1,<base64>` entry of webhook-signature, and the timestamp within `toleranceSeconds` of now.
 */
export function verifyStandardWebhook (
  secret: string, received: ReceivedWebhook, nowSeconds: number, toleranceSeconds = 300
): { ok: true } | { ok: false, reason: string } {
  const id = received.headers['webhook-id']
  const timestamp = received.headers['webhook-timestamp']
  const signatures = received.headers['webhook-signature']
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return { ok: false, reason: 'missing header' }
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'timestamp is not unix seconds' }
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return { ok: false, reason: 'stale timestamp' }
  if (!secret.startsWith('whsec_')) return { ok: false, reason: 'secret is not whsec_' }
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${received.body}`).digest()
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',')
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue
    const given = Buffer.from(entry.slice(comma + 1), 'base64')
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true }
  }
  return { ok: false, reason: 'no valid signature' }
}

export interface WebhookReceiver {
  url: string
  received: ReceivedWebhook[]
  close: () => Promise<void>
}

/**
 * A receiver on a loopback port that answers each request with `answer(n)` (n counts from 0);
 * `answer` may also write the response itself and return undefined.
 */
export async function startWebhookReceiver (
  t: Test, answer: (n: number, res: ServerResponse) => number | undefined | void = () => 200
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      const status = answer(received.length - 1, res)
      if (typeof status === 'number') res.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  t.teardown(close)
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received, close }
}

/** A fresh secret as an operator would write it. */
export function newWebhookSecret (bytes = 32): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`
}
