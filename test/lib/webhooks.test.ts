import tap from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { openStore } from '../../lib/store/open.js'
import type { Store } from '../../lib/store/types.js'
import type { GatewayEvent } from '../../lib/events.js'
import { WebhookDispatcher, type WebhookDispatcherOptions } from '../../lib/webhooks/dispatcher.js'
import { webhookSecretProblem, webhookSigningKey } from '../../lib/webhooks/secret.js'
import { signWebhook } from '../../lib/webhooks/signature.js'
import { tempDir } from '../helpers/app.js'
import { testOnEachStore } from '../helpers/stores.js'
import { newWebhookSecret, startWebhookReceiver, verifyStandardWebhook, type ReceivedWebhook } from '../helpers/webhook-receiver.js'

type Test = Parameters<typeof tempDir>[0]

const START = Date.parse('2026-03-01T12:00:00Z')

/** Time that moves only when the test says so. */
class TestClock {
  constructor (public ms = START) {}
  now (): number { return this.ms }
  get seconds (): number { return Math.floor(this.ms / 1000) }
}

class CapturedLog {
  readonly lines: Array<{ level: string, details: object, message: string }> = []
  info (details: object, message: string): void { this.lines.push({ level: 'info', details, message }) }
  warn (details: object, message: string): void { this.lines.push({ level: 'warn', details, message }) }
  get text (): string { return JSON.stringify(this.lines) }
}

async function sqliteStore (t: Test): Promise<Store> {
  const store = await openStore(`sqlite:${tempDir(t)}/store.db`)
  t.teardown(() => store.close())
  return store
}

const eventIds = { connectionId: 'c-1', practiceId: 'p-1', syncId: 's-1' }
const synced = (at: number): GatewayEvent =>
  ({ type: 'sync.succeeded', ...eventIds, at, requests: 42, resources: 2100, skippedTypes: ['DocumentReference'] })

interface Rig {
  dispatcher: WebhookDispatcher, clock: TestClock, log: CapturedLog, store: Store, secret: string
}

type RigOptions = Partial<WebhookDispatcherOptions>

async function rig (t: Test, url: string, options: RigOptions = {}, store?: Store): Promise<Rig> {
  const secret = newWebhookSecret()
  const clock = new TestClock()
  const log = new CapturedLog()
  const outbox = store ?? await sqliteStore(t)
  // random 0.5: the ±50% jitter is 0, so the waits are the schedule's own.
  const key = webhookSigningKey(secret)
  const random = () => 0.5
  const dispatcher = new WebhookDispatcher({ url, key, outbox: outbox.webhooks, log, clock, random, ...options })
  t.teardown(() => dispatcher.stop())
  return { dispatcher, clock, log, store: outbox, secret }
}

const verify = (r: Rig, received: ReceivedWebhook, nowSeconds = r.clock.seconds) =>
  verifyStandardWebhook(r.secret, received, nowSeconds)

tap.test('secrets: whsec_ and base64 of 24 to 64 bytes, nothing else', async (t) => {
  t.equal(webhookSecretProblem(newWebhookSecret(24)), undefined)
  t.equal(webhookSecretProblem(newWebhookSecret(64)), undefined)
  t.match(webhookSecretProblem(newWebhookSecret(23)), /decodes to 23 bytes/, 'one byte short')
  t.match(webhookSecretProblem(newWebhookSecret(65)), /decodes to 65 bytes/)
  t.match(webhookSecretProblem(newWebhookSecret(32).replace('whsec_', 'whsk_')), /must start with whsec_/)
  t.match(webhookSecretProblem(`${newWebhookSecret(32)}!`), /not valid base64/, 'a stray character is refused, not skipped')
  t.match(webhookSecretProblem('whsec_' + 'a'.repeat(33)), /not valid base64/, 'unpadded base64 is refused')
})

tap.test('the Standard Webhooks test vector: the gateway signs it, and the test\'s verifier accepts it', async (t) => {
  // Published with the specification's reference libraries, so matching it means any of them verifies us.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  const body = '{"test": 2432232314}'
  const headers = { ...signWebhook(webhookSigningKey(secret), 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body) }
  t.same(headers, {
    'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
  })
  t.same(verifyStandardWebhook(secret, { headers, body }, 1614265330), { ok: true })
  const rotated = { ...headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}` }
  t.same(verifyStandardWebhook(secret, { headers: rotated, body }, 1614265330), { ok: true }, 'any of several signatures')
  const wrongVersion = { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v1a,') }
  t.same(verifyStandardWebhook(secret, { headers: wrongVersion, body }, 1614265330), { ok: false, reason: 'no valid signature' })
})

tap.test('every attempt is signed as Standard Webhooks; the receiver refuses a tampered body, a stale timestamp and another key', async (t) => {
  const receiver = await startWebhookReceiver(t)
  const r = await rig(t, receiver.url)
  const id = await r.dispatcher.enqueue(synced(r.clock.ms - 1500))
  t.match(id, /^msg_[A-Za-z0-9_-]{22}$/)
  t.equal(await r.dispatcher.deliverDue(), 1)
  t.equal(receiver.received.length, 1)
  const got = receiver.received[0]
  t.same(verify(r, got), { ok: true }, 'the signature verifies')
  t.equal(got.headers['webhook-id'], id)
  t.equal(got.headers['webhook-timestamp'], String(r.clock.seconds), 'the timestamp is the attempt\'s, in unix seconds')
  t.equal(got.headers['content-type'], 'application/json')
  t.same(JSON.parse(got.body), {
    type: 'sync.succeeded',
    timestamp: new Date(r.clock.ms - 1500).toISOString(),
    data: { connectionId: 'c-1', practiceId: 'p-1', syncId: 's-1', requests: 42, resources: 2100, skippedTypes: ['DocumentReference'] }
  }, 'the event\'s own time, ids and counts')

  t.same(verify(r, { ...got, body: got.body.replace('2100', '2101') }), { ok: false, reason: 'no valid signature' }, 'a tampered body')
  t.same(verify(r, { ...got, body: got.body + ' ' }), { ok: false, reason: 'no valid signature' }, 'one added space')
  t.same(verify(r, { ...got, headers: { ...got.headers, 'webhook-id': 'msg_other' } }), { ok: false, reason: 'no valid signature' }, 'another id')
  const later = String(r.clock.seconds + 1)
  t.same(verify(r, { ...got, headers: { ...got.headers, 'webhook-timestamp': later } }, r.clock.seconds + 1), { ok: false, reason: 'no valid signature' }, 'a timestamp moved forward to dodge the replay check')
  t.same(verify(r, got, r.clock.seconds + 301), { ok: false, reason: 'stale timestamp' }, 'a replay five minutes later')
  t.same(verifyStandardWebhook(newWebhookSecret(), got, r.clock.seconds), { ok: false, reason: 'no valid signature' }, 'another secret')
  t.same((await r.store.webhooks.get(id!))?.status, 'delivered')
  t.equal(await r.dispatcher.deliverDue(), 0, 'a delivered message is not sent again')
})

tap.test('a receiver that answers 500 twice then 200 gets the same webhook-id three times, after growing waits', async (t) => {
  const receiver = await startWebhookReceiver(t, (n) => n < 2 ? 500 : 200)
  const r = await rig(t, receiver.url)
  const id = await r.dispatcher.enqueue(synced(r.clock.ms))
  await r.dispatcher.deliverDue()
  t.equal(receiver.received.length, 1)
  t.match(await r.store.webhooks.get(id!), { status: 'pending', attempts: 1, lastError: 'receiver answered 500', nextAttemptAt: START + 5_000 })

  r.clock.ms = START + 4_999
  await r.dispatcher.deliverDue()
  t.equal(receiver.received.length, 1, 'not before the first wait (5 s) is over')
  r.clock.ms = START + 5_000
  await r.dispatcher.deliverDue()
  t.equal(receiver.received.length, 2)
  t.match(await r.store.webhooks.get(id!), { nextAttemptAt: START + 5_000 + 15_000 }, 'the second wait is three times the first')
  r.clock.ms = START + 19_999
  await r.dispatcher.deliverDue()
  t.equal(receiver.received.length, 2)
  r.clock.ms = START + 20_000
  await r.dispatcher.deliverDue()
  t.equal(receiver.received.length, 3)

  t.same(receiver.received.map((w) => w.headers['webhook-id']), [id, id, id], 'one id, stable across retries')
  t.same(receiver.received.map((w) => Number(w.headers['webhook-timestamp']) - START / 1000), [0, 5, 20], 'each attempt signed at its own time')
  t.same(receiver.received.map((w) => verifyStandardWebhook(r.secret, w, Number(w.headers['webhook-timestamp']))), [{ ok: true }, { ok: true }, { ok: true }])
  t.same(new Set(receiver.received.map((w) => w.body)).size, 1, 'the same body every time')
  t.match(await r.store.webhooks.get(id!), { status: 'delivered', attempts: 3, lastError: null })
  r.clock.ms += 3 * 86_400_000
  t.equal(await r.dispatcher.deliverDue(), 0, 'a 2xx ended it')
  t.equal(receiver.received.length, 3)
})

tap.test('jitter spreads the waits by up to half either way', async (t) => {
  const receiver = await startWebhookReceiver(t, () => 503)
  const waits: number[] = []
  for (const random of [0, 0.999]) {
    const r = await rig(t, receiver.url, { random: () => random })
    const id = await r.dispatcher.enqueue(synced(r.clock.ms))
    await r.dispatcher.deliverDue()
    waits.push((await r.store.webhooks.get(id!))!.nextAttemptAt - START)
  }
  t.same(waits, [2_500, 7_495])
})

tap.test('a receiver down for the whole day: attempts stop after a day, the message is marked failed and logged', async (t) => {
  const receiver = await startWebhookReceiver(t)
  await receiver.close() // nothing listens on its port any more: connection refused
  const r = await rig(t, receiver.url)
  const id = (await r.dispatcher.enqueue(synced(r.clock.ms)))!
  const attemptTimes: number[] = []
  for (let row = await r.store.webhooks.get(id); row?.status === 'pending'; row = await r.store.webhooks.get(id)) {
    r.clock.ms = row.nextAttemptAt
    attemptTimes.push(r.clock.ms - START)
    t.equal(await r.dispatcher.deliverDue(), 1)
    if (attemptTimes.length > 100) break
  }
  const row = (await r.store.webhooks.get(id))!
  t.match(row, { status: 'failed', lastError: 'request failed: ECONNREFUSED', attempts: attemptTimes.length })
  t.ok(attemptTimes.length >= 15 && attemptTimes.length <= 25, `about twenty attempts (${attemptTimes.length})`)
  t.equal(attemptTimes.at(-1), 86_400_000, 'the last attempt is a day after the event')
  t.ok(attemptTimes.every((time, i) => i === 0 || time > attemptTimes[i - 1]), 'attempts move forward')
  t.ok(attemptTimes.slice(1).every((time, i) => time - attemptTimes[i] <= 2 * 3_600_000), 'no wait longer than two hours')
  t.match(r.log.lines.filter((l) => l.level === 'warn'), [{ details: { webhookId: id, attempt: attemptTimes.length, problem: 'request failed: ECONNREFUSED' }, message: /given up after trying for a day/ }])
  t.match(await r.dispatcher.status(), { counts: { pending: 0, delivered: 0, failed: 1 }, failed: [{ id, status: 'failed' }] }, 'visible in the status')
  r.clock.ms += 7 * 86_400_000
  t.equal(await r.dispatcher.deliverDue(), 0, 'nothing more is attempted')
})

tap.test('bounded: a receiver that never answers costs one timeout; publishing does not wait for it', async (t) => {
  const receiver = await startWebhookReceiver(t, () => undefined)
  const r = await rig(t, receiver.url, { timeoutMs: 300 })
  const id = await r.dispatcher.enqueue(synced(r.clock.ms))
  const started = Date.now()
  const sending = r.dispatcher.deliverDue()
  await sleep(50)
  const publishStarted = Date.now()
  await r.dispatcher.enqueue(synced(r.clock.ms))
  t.ok(Date.now() - publishStarted < 200, 'a second event is queued while the first attempt hangs')
  await sending
  const took = Date.now() - started
  t.ok(took >= 250 && took < 3_000, `the attempt ended at the timeout (${took} ms)`)
  t.match(await r.store.webhooks.get(id!), { status: 'pending', lastError: /^request failed: / })
})

tap.test('a redirect is not followed; a 410 ends the message; the receiver\'s answer is never logged', async (t) => {
  const elsewhere = await startWebhookReceiver(t)
  const receiver = await startWebhookReceiver(t, (n, res) => {
    if (n === 0) {
      res.writeHead(307, { location: elsewhere.url }).end('RECEIVER-SAYS-redirect')
      return
    }
    res.writeHead(410).end('RECEIVER-SAYS-gone')
  })
  const r = await rig(t, receiver.url)
  const id = await r.dispatcher.enqueue(synced(r.clock.ms))
  await r.dispatcher.deliverDue()
  t.equal(elsewhere.received.length, 0, 'nothing reached the redirect target')
  t.match(await r.store.webhooks.get(id!), { status: 'pending', lastError: 'receiver answered 307 (redirects are not followed)' })
  r.clock.ms += 60_000
  await r.dispatcher.deliverDue()
  t.match(await r.store.webhooks.get(id!), { status: 'failed', attempts: 2, lastError: 'receiver answered 410 Gone' })
  t.notMatch(r.log.text, /RECEIVER-SAYS/)
  t.notMatch(r.log.text, new RegExp(r.secret.slice('whsec_'.length).replace(/[+/]/g, '.')), 'nor the secret')
})

tap.test('only ids and counts leave: a field added to an event later stays out of webhooks', async (t) => {
  const receiver = await startWebhookReceiver(t)
  const r = await rig(t, receiver.url)
  const event = { type: 'connection.reauth_required', connectionId: 'c-2', practiceId: 'p-2', at: r.clock.ms, patientId: 'pat-123', accessToken: 'eyJ.secret' }
  await r.dispatcher.enqueue(event as GatewayEvent)
  await r.dispatcher.deliverDue()
  t.same(JSON.parse(receiver.received[0].body).data, { connectionId: 'c-2', practiceId: 'p-2' })
  t.notMatch(receiver.received[0].body, /pat-123|eyJ/)
})

testOnEachStore('two instances on one database: each message is sent once', async (t, under) => {
  const receiver = await startWebhookReceiver(t)
  const databaseUrl = await under.databaseUrl(t)
  const stores = [await openStore(databaseUrl), await openStore(databaseUrl)]
  t.teardown(async () => { for (const s of stores) await s.close() })
  const a = await rig(t, receiver.url, { batchSize: 3 }, stores[0])
  const b = await rig(t, receiver.url, { batchSize: 3 }, stores[1])
  const ids = await Promise.all(Array.from({ length: 30 }, async (_, i) =>
    await (i % 2 === 0 ? a : b).dispatcher.enqueue(synced(START))))
  const [sentByA, sentByB] = await Promise.all([a.dispatcher.deliverDue(), b.dispatcher.deliverDue()])
  t.equal(sentByA + sentByB, 30)
  t.same(receiver.received.map((w) => w.headers['webhook-id']).sort(), [...ids].sort(), 'every message exactly once')
  t.match(await a.dispatcher.status(), { counts: { pending: 0, delivered: 30, failed: 0 } })
})
