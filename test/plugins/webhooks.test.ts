import tap from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, loadConfig } from '../../lib/config.js'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'
import { newWebhookSecret, startWebhookReceiver, verifyStandardWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.js'

const base = { HEALOW_CLIENT_ID: 'c', PUBLIC_URL: 'https://gw.example.org' }

function configProblems (env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

tap.test('WEBHOOK_URL and WEBHOOK_SECRET: both or neither, https, a whsec_ secret of at least 24 bytes', async (t) => {
  const secret = newWebhookSecret()
  t.same(configProblems({}), [], 'webhooks are optional')
  t.same(configProblems({ WEBHOOK_URL: 'https://hooks.example.org/in', WEBHOOK_SECRET: secret }), [])
  t.match(configProblems({ WEBHOOK_URL: 'https://hooks.example.org/in' }), [/WEBHOOK_URL and WEBHOOK_SECRET go together/])
  t.match(configProblems({ WEBHOOK_SECRET: secret }), [/go together/])
  t.match(configProblems({ WEBHOOK_URL: 'http://hooks.example.org/in', WEBHOOK_SECRET: secret, ALLOW_LOOPBACK_HTTP: 'true' }),
    [/WEBHOOK_URL must use https/], 'plain http to another host, even with ALLOW_LOOPBACK_HTTP')
  t.match(configProblems({ WEBHOOK_URL: 'http://127.0.0.1:9/in', WEBHOOK_SECRET: secret }), [/WEBHOOK_URL must use https/],
    'plain http to loopback without ALLOW_LOOPBACK_HTTP')
  t.match(configProblems({ WEBHOOK_URL: 'http://127.0.0.1.nip.io/in', WEBHOOK_SECRET: secret, ALLOW_LOOPBACK_HTTP: 'true' }),
    [/must use https/], 'a host that only starts like loopback')
  t.same(configProblems({ WEBHOOK_URL: 'http://127.0.0.1:9/in', WEBHOOK_SECRET: secret, ALLOW_LOOPBACK_HTTP: 'true' }), [])
  t.same(configProblems({ WEBHOOK_URL: 'http://[::1]:9/in', WEBHOOK_SECRET: secret, ALLOW_LOOPBACK_HTTP: 'true' }), [])
  t.match(configProblems({ WEBHOOK_URL: 'ftp://hooks.example.org', WEBHOOK_SECRET: secret }), [/http or https/])
  const withPassword = configProblems({ WEBHOOK_URL: 'https://ops:hunter2@hooks.example.org/in', WEBHOOK_SECRET: secret })
  t.match(withPassword, [/must not carry credentials/])
  t.notMatch(withPassword.join('\n'), /hunter2/, 'nor repeats them')
  const short = newWebhookSecret(23)
  const problems = configProblems({ WEBHOOK_URL: 'https://hooks.example.org/in', WEBHOOK_SECRET: short })
  t.match(problems, [/WEBHOOK_SECRET decodes to 23 bytes/])
  t.notMatch(problems.join('\n'), short.slice(6, 20), 'the message does not repeat the secret')
  t.match(configProblems({ WEBHOOK_URL: 'https://hooks.example.org/in', WEBHOOK_SECRET: secret.slice(6) }), [/must start with whsec_/])
})

async function firstWebhooks (receiver: WebhookReceiver, count: number): Promise<void> {
  for (let i = 0; i < 200 && receiver.received.length < count; i++) await sleep(25)
}

tap.test('invalid_grant at Healow: one signed connection.reauth_required webhook, with no token, key or patient id', async (t) => {
  const receiver = await startWebhookReceiver(t)
  const secret = newWebhookSecret()
  const env = { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret }
  const stack = await startStack(t, { env, build: { refreshRetryDelaysMs: [20, 50] } })
  const { connectionId, key } = await connectPatient(stack)
  const { vault } = stack.gw.app
  const before = (await vault.read(connectionId))!
  // As if the hour had passed: the next use of the connection needs a refresh.
  t.ok(await vault.saveRefreshed(connectionId, before.tokenVersion, before.tokens, Date.now() - 1000, before.scope))
  t.equal(receiver.received.length, 0, 'connecting sends nothing')

  stack.sim.setFaults({ invalidGrantOnNextRefresh: true })
  const refused = await fetch(`${stack.gw.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })
  t.equal(refused.status, 401)
  t.match(await refused.json(), { code: 'reauth_required' })
  await firstWebhooks(receiver, 1)
  t.equal(receiver.received.length, 1, 'the webhook arrived')
  const [webhook] = receiver.received
  t.same(verifyStandardWebhook(secret, webhook, Math.floor(Date.now() / 1000)), { ok: true })
  const payload = JSON.parse(webhook.body) as { type: string, timestamp: string, data: unknown }
  t.equal(payload.type, 'connection.reauth_required')
  t.ok(Math.abs(Date.parse(payload.timestamp) - Date.now()) < 10_000)
  t.same(payload.data, { connectionId, practiceId: stack.sim.practices[0].id }, 'ids only')

  const sent = JSON.stringify(webhook)
  const secrets = {
    patientId: before.patientId,
    ...before.tokens,
    connectionKey: key,
    webhookSecret: secret.slice('whsec_'.length),
    clientSecret: stack.gw.config.HEALOW_CLIENT_SECRET!
  }
  t.ok(secrets.refreshToken && secrets.idToken, 'a confidential connection: all three tokens to look for')
  for (const [name, value] of Object.entries(secrets)) t.notOk(sent.includes(value!), `no ${name} in the webhook`)
  t.notMatch(sent, /eyJ[A-Za-z0-9_-]{8,}/, 'no JWT of any kind')

  // Already reauth_required: asking again changes nothing and sends nothing.
  t.equal((await fetch(`${stack.gw.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })).status, 401)
  await sleep(300)
  t.equal(receiver.received.length, 1, 'one webhook per transition')
  t.match(await stack.gw.app.webhooks!.status(), { counts: { pending: 0, delivered: 1, failed: 0 } })
})

tap.test('a sync result published on app.events reaches the receiver; a gateway without WEBHOOK_URL sends nothing', async (t) => {
  const receiver = await startWebhookReceiver(t)
  const secret = newWebhookSecret()
  const stack = await startStack(t, { env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret } })
  const started = Date.now()
  stack.gw.app.events.publish({ type: 'sync.failed', connectionId: 'c-9', practiceId: 'p-9', syncId: 's-9', at: Date.now(), code: 'upstream_unavailable' })
  t.ok(Date.now() - started < 50, 'publishing returns at once')
  await firstWebhooks(receiver, 1)
  t.same(JSON.parse(receiver.received[0].body).data, { connectionId: 'c-9', practiceId: 'p-9', syncId: 's-9', code: 'upstream_unavailable' })
  t.same(verifyStandardWebhook(secret, receiver.received[0], Math.floor(Date.now() / 1000)), { ok: true })
  const ready = await (await fetch(`${stack.gw.url}/ready`)).json() as { checks: Record<string, unknown> }
  t.same(ready.checks.webhooks, { ok: true, detail: '0 pending, 1 delivered, 0 given up' }, 'the outbox on GET /ready')

  const quiet = await startStack(t)
  t.equal(quiet.gw.app.webhooks, null)
  quiet.gw.app.events.publish({ type: 'sync.failed', connectionId: 'c-9', practiceId: 'p-9', syncId: 's-9', at: Date.now(), code: 'x' })
  await sleep(200)
  t.equal(receiver.received.length, 1)
})

tap.test('the gateway on a test clock: a receiver answering 500 twice then 200 gets one webhook-id three times', async (t) => {
  const receiver = await startWebhookReceiver(t, (n) => n < 2 ? 500 : 200)
  const secret = newWebhookSecret()
  let now = Date.now()
  const clock = { now: () => now }
  const stack = await startStack(t, {
    env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret },
    build: { webhooks: { clock, random: () => 0.5, pollMs: 20 } }
  })
  stack.gw.app.events.publish({ type: 'connection.reauth_required', connectionId: 'c-7', practiceId: 'p-7', at: now })
  await firstWebhooks(receiver, 1)
  await sleep(200)
  t.equal(receiver.received.length, 1, 'no retry before the clock moves')
  now += 5_000
  await firstWebhooks(receiver, 2)
  now += 15_000
  await firstWebhooks(receiver, 3)
  await sleep(200)
  t.equal(receiver.received.length, 3)
  const ids = new Set(receiver.received.map((w) => w.headers['webhook-id']))
  t.equal(ids.size, 1, 'the same webhook-id')
  const stamps = receiver.received.map((w) => Number(w.headers['webhook-timestamp']))
  t.same([stamps[1] - stamps[0], stamps[2] - stamps[1]], [5, 15], 'after 5 s, then 15 s')
  for (const w of receiver.received) t.same(verifyStandardWebhook(secret, w, Number(w.headers['webhook-timestamp'])), { ok: true })
})
