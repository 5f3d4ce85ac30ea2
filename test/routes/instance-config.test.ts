import t from 'tap'
import { startGateway } from '../helpers/app.js'

t.test('public mode: HEALOW_CONFIDENTIAL_MODE is false', async (t) => {
  const gw = await startGateway(t)
  const res = await fetch(`${gw.url}/api/v1/instance-config`)
  t.equal(res.status, 200)
  t.same(await res.json(), { HEALOW_CLIENT_ID: 'test-client', HEALOW_CONFIDENTIAL_MODE: false, PUBLIC_URL: gw.url })
})

t.test('confidential mode: true, and the secret is in no response and no log line', async (t) => {
  const secret = 'conf1dential-Secret-' + 'x'.repeat(20)
  const vaultKey = 'cd'.repeat(32)
  const gw = await startGateway(t, { HEALOW_CLIENT_SECRET: secret, VAULT_KEY: vaultKey, LOG_LEVEL: 'trace' })
  const bodies: string[] = []
  for (const path of ['/api/v1/instance-config', '/health', '/ready', '/openapi.json', '/nowhere']) {
    const res = await fetch(`${gw.url}${path}?client_secret=${secret}`, { headers: { authorization: `Bearer ${secret}`, cookie: `s=${secret}` } })
    bodies.push(await res.text() + JSON.stringify([...res.headers]))
  }
  t.same(JSON.parse(bodies[0].slice(0, bodies[0].indexOf('}') + 1)), { HEALOW_CLIENT_ID: 'test-client', HEALOW_CONFIDENTIAL_MODE: true, PUBLIC_URL: gw.url })
  // Log at every level, with the secret in the shapes code is most likely to log it.
  gw.app.log.info({ config: gw.config }, 'config dump')
  gw.app.log.info({ body: { client_secret: secret, refresh_token: 'rt-' + secret } }, 'body dump')
  gw.app.log.info(`message mentioning ${secret} and ${vaultKey}`)
  t.ok(gw.logs.lines.length > 10, 'logs were captured')
  for (const text of [...bodies, gw.logs.text]) {
    t.notOk(text.includes(secret), 'no client secret')
    t.notOk(text.includes(vaultKey), 'no vault key')
  }
  t.match(gw.logs.text, /\[Redacted\]/)
})

t.test('request ids: generated, echoed, and a hostile one replaced', async (t) => {
  const gw = await startGateway(t)
  const a = await fetch(`${gw.url}/health`)
  t.match(a.headers.get('x-request-id'), /^[0-9a-f-]{36}$/)
  const b = await fetch(`${gw.url}/health`, { headers: { 'x-request-id': 'trace-12345678' } })
  t.equal(b.headers.get('x-request-id'), 'trace-12345678')
  const c = await fetch(`${gw.url}/health`, { headers: { 'x-request-id': 'bad id with spaces and "quotes"' } })
  t.not(c.headers.get('x-request-id'), 'bad id with spaces and "quotes"')
  t.ok(gw.logs.lines.some((l) => JSON.parse(l).reqId === 'trace-12345678'))
})
