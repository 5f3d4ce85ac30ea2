import t from 'tap'
import pino from 'pino'
import { loggingOptions, redactUrl, scrubLogLine } from '../../logging.js'
import { LogCapture } from '../helpers/app.js'

t.test('query strings lose their credentials, and nothing else', async (t) => {
  t.equal(redactUrl('/healow/callback?code=abc&state=xyz&iss=1'), '/healow/callback?code=[Redacted]&state=[Redacted]&iss=1')
  t.equal(redactUrl('/tenants?q=cardiology'), '/tenants?q=cardiology')
})

t.test('a line is scrubbed of configured secrets and credential-shaped text', async (t) => {
  const line = scrubLogLine('{"msg":"Bearer abc.def-123 and Basic Zm9vOmJhcg== and topsecretvalue","x":"{\\"refresh_token\\":\\"rt1\\"}"}', ['topsecretvalue'])
  t.notMatch(line, /abc\.def-123|Zm9vOmJhcg|topsecretvalue|rt1/)
  const shaped = scrubLogLine(`key hsk_${'k'.repeat(43)} handle hsa.id.hsk_${'k'.repeat(43)} jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwMSJ9.c2lnbmF0dXJl`, [])
  t.notMatch(shaped, /hsk_k|eyJhbGci/, 'keys, handles and JWTs found by their shape')
})

t.test('the logger redacts tokens, keys and codes by field, but keeps error codes', async (t) => {
  const capture = new LogCapture()
  const options = loggingOptions({ config: { LOG_LEVEL: 'info', LOG_FORMAT: 'json', HEALOW_CLIENT_SECRET: 'client-secret-1234', VAULT_KEY: undefined }, stream: capture })
  const log = pino({ ...(options.logger as object) }, capture)
  log.info({ tokens: { access_token: 'at-1', refresh_token: 'rt-1' }, key: 'hsk_x', request: { query: { code: 'oauth-code-1' } }, err: { code: 'ENOENT' } }, 'shapes')
  log.info({ config: { HEALOW_CLIENT_SECRET: 'client-secret-1234' } }, 'config')
  const text = capture.text
  for (const secret of ['at-1', 'rt-1', 'hsk_x', 'oauth-code-1', 'client-secret-1234']) t.notOk(text.includes(secret), `${secret} redacted`)
  t.match(text, /"code":"ENOENT"/, 'an error code stays readable')
})

t.test("a request's logger writes its lines with the request id, redacted, and only at enabled levels", async (t) => {
  const { default: Fastify } = await import('fastify')
  const capture = new LogCapture()
  const app = Fastify(loggingOptions({ config: { LOG_LEVEL: 'warn', LOG_FORMAT: 'json', HEALOW_CLIENT_SECRET: 'client-secret-1234', VAULT_KEY: undefined }, stream: capture }))
  app.get('/quiet', async (request) => {
    request.log.info({ key: 'hsk_should-not-matter' }, 'below the level')
    return 'ok'
  })
  app.get('/loud', async (request) => {
    request.log.warn({ tokens: { access_token: 'at-secret-1' } }, 'at the level')
    request.log.child({ part: 'nested' }).error('from a child')
    t.equal(request.log.level, 'warn')
    return 'ok'
  })
  app.get('/debug-route', { logLevel: 'debug' }, async (request) => {
    request.log.debug('a route with its own level')
    return 'ok'
  })
  t.teardown(() => app.close())
  await app.inject({ url: '/quiet', headers: { 'x-request-id': 'quiet-request-1' } })
  await app.inject({ url: '/loud', headers: { 'x-request-id': 'loud-request-1' } })
  await app.inject({ url: '/debug-route', headers: { 'x-request-id': 'debug-request-1' } })
  const lines = capture.text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
  t.notOk(lines.some((l) => l.reqId === 'quiet-request-1'), 'nothing written below the level')
  const loud = lines.filter((l) => l.reqId === 'loud-request-1')
  t.same(loud.map((l) => l.msg), ['at the level', 'from a child'])
  t.equal(loud[1].part, 'nested', "a child's bindings are kept")
  t.notOk(capture.text.includes('at-secret-1'), 'fields are redacted')
  t.ok(lines.some((l) => l.reqId === 'debug-request-1' && l.msg === 'a route with its own level'), "a route's own log level is honoured")
})
