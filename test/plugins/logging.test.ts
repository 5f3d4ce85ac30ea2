import t from 'tap'
import pino from 'pino'
import { lazyChildLogger, loggingOptions, redactUrl, scrubLogLine } from '../../logging.js'
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

const CONFIG = { LOG_LEVEL: 'info', LOG_FORMAT: 'json', HEALOW_CLIENT_SECRET: 'client-secret-1234', VAULT_KEY: 'vault-key-abcdefgh' } as const
const FIELDS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'access_token', 'refresh_token', 'id_token', 'code_verifier',
  'client_secret', 'key', 'handoff', 'password', 'state', 'VAULT_KEY', 'HEALOW_CLIENT_SECRET']

/**
 * A logger with the field redaction alone: the line scrubbing after it would hide a gap in it, and the
 * request serializer drops headers before the paths for them are reached.
 */
function fieldsOnly (capture: LogCapture) {
  const { redact } = loggingOptions({ config: CONFIG, stream: capture }).logger as Record<string, unknown>
  return pino({ redact } as never, capture)
}

t.test('every credential field is redacted by name, at the top and up to two objects down', async (t) => {
  const capture = new LogCapture()
  const log = fieldsOnly(capture)
  for (const field of FIELDS) {
    log.info({ [field]: `v0-${field}`, one: { [field]: `v1-${field}` }, two: { deeper: { [field]: `v2-${field}` } } }, field)
    const line = JSON.parse(capture.lines.at(-1)!) as Record<string, any>
    t.equal(line[field], '[Redacted]', `${field} at the top`)
    t.equal(line.one[field], '[Redacted]', `${field} one down`)
    t.equal(line.two.deeper[field], '[Redacted]', `${field} two down`)
  }
  log.info({ req: { headers: { authorization: 'Bearer h1', cookie: 'c1', 'x-api-key': 'k1', accept: 'text/html' } }, res: { headers: { 'set-cookie': 's1' } } }, 'headers')
  const headers = JSON.parse(capture.lines.at(-1)!) as Record<string, any>
  t.same(headers.req.headers, { authorization: '[Redacted]', cookie: '[Redacted]', 'x-api-key': '[Redacted]', accept: 'text/html' })
  t.same(headers.res.headers, { 'set-cookie': '[Redacted]' })
  log.info({ query: { code: 'q1', iss: 'i' }, body: { code: 'b1' }, request: { query: { code: 'q2' }, body: { code: 'b2' } }, err: { code: 'ENOENT' }, code: 'E1' }, 'codes')
  const codes = JSON.parse(capture.lines.at(-1)!) as Record<string, any>
  t.same([codes.query, codes.body, codes.request], [{ code: '[Redacted]', iss: 'i' }, { code: '[Redacted]' }, { query: { code: '[Redacted]' }, body: { code: '[Redacted]' } }], 'an OAuth code where requests carry one')
  t.same([codes.err.code, codes.code], ['ENOENT', 'E1'], 'error codes elsewhere stay readable')
})

t.test('every credential query parameter is redacted in a URL, up to where its value ends', async (t) => {
  for (const name of ['code', 'state', 'handoff', 'access_token', 'refresh_token', 'id_token', 'token', 'key', 'code_verifier', 'client_secret']) {
    t.equal(redactUrl(`/x?${name}=s3cret&b=2`), `/x?${name}=[Redacted]&b=2`, `${name} first`)
    t.equal(redactUrl(`/x?a=1&${name}=s3cret`), `/x?a=1&${name}=[Redacted]`, `${name} after another`)
  }
  t.equal(redactUrl('/x?CODE=s3cret'), '/x?CODE=[Redacted]', 'whatever its case')
  t.equal(redactUrl('/x?code=a&state=b&code=c'), '/x?code=[Redacted]&state=[Redacted]&code=[Redacted]', 'every one of them')
  t.equal(redactUrl('/x?code=s3cret#frag'), '/x?code=[Redacted]#frag')
  t.equal(redactUrl('GET /x?code=s3cret HTTP/1.1'), 'GET /x?code=[Redacted] HTTP/1.1')
  t.equal(redactUrl('"/x?code=s3cret"'), '"/x?code=[Redacted]"')
  t.equal(redactUrl('/x?code='), '/x?code=[Redacted]')
  t.equal(redactUrl('/x?zipcode=12345&encode=1&code'), '/x?zipcode=12345&encode=1&code', 'look-alike names and a bare name are kept')
  t.equal(redactUrl('/code=1/state=2'), '/code=1/state=2', 'outside a query nothing is taken for a parameter')
})

t.test('credential-shaped text is scrubbed from a line, and the text around it kept', async (t) => {
  const cases: Array<[string, string]> = [
    ['auth Bearer abc.DEF-12_3~+/xyz== end', 'auth Bearer [Redacted] end'],
    ['auth bearer abc end', 'auth bearer [Redacted] end'],
    ['auth Bearer \t abc end', 'auth Bearer \t [Redacted] end'],
    ['auth Basic  Zm9v end', 'auth Basic  [Redacted] end'],
    ['auth Basic Zm9vOmJhcg== end', 'auth Basic [Redacted] end'],
    ['auth BASIC Zm9v end', 'auth BASIC [Redacted] end'],
    ['{"access_token":"a1","x":1}', '{"access_token":"[Redacted]","x":1}'],
    ['{"x":"{\\"refresh_token\\":\\"r1\\"}"}', '{"x":"{\\"refresh_token\\":\\"[Redacted]\\"}"}'],
    ['{"id_token" : "i1"}', '{"id_token" : "[Redacted]"}'],
    ['{"client_secret":"s1","code_verifier":"v1","key":"k1","handoff":"h1"}', '{"client_secret":"[Redacted]","code_verifier":"[Redacted]","key":"[Redacted]","handoff":"[Redacted]"}'],
    ['{"url":"/cb?code=c1&state=s1&iss=x"}', '{"url":"/cb?code=[Redacted]&state=[Redacted]&iss=x"}'],
    [`key hsk_${'a'.repeat(20)} end`, 'key [Redacted] end'],
    [`handoff hsh_${'a-b_c'.repeat(10)} end`, 'handoff [Redacted] end'],
    [`short hsk_${'a'.repeat(19)} end`, `short hsk_${'a'.repeat(19)} end`],
    [`inside xhsk_${'a'.repeat(20)} end`, `inside xhsk_${'a'.repeat(20)} end`],
    ['jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwMSJ9.c2ln-_natur end', 'jwt [Redacted] end'],
    ['unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiJwMSJ9. end', 'unsigned [Redacted] end'],
    ['short eyJhbGci.eyJzdWIi.x end', 'short eyJhbGci.eyJzdWIi.x end'],
    ['{"keyId":"k","monkey":"m","token_type":"Bearer"}', '{"keyId":"k","monkey":"m","token_type":"Bearer"}']
  ]
  for (const [line, scrubbed] of cases) t.equal(scrubLogLine(line, []), scrubbed, line)
  t.equal(scrubLogLine('a 12345678 b 12345678 c', ['12345678']), 'a [Redacted] b [Redacted] c', 'a configured secret of 8 characters, every time')
  t.equal(scrubLogLine('info level ok', ['info', 'ok']), 'info level ok', 'a value too short to be a secret would garble every line')
})

t.test('configured secrets are scrubbed from every line the logger writes', async (t) => {
  const capture = new LogCapture()
  const log = pino({ ...(loggingOptions({ config: CONFIG, stream: capture }).logger as object) }, capture)
  log.info(`started with ${CONFIG.HEALOW_CLIENT_SECRET} and ${CONFIG.VAULT_KEY}`)
  t.match(capture.text, /started with \[Redacted\] and \[Redacted\]/)
  const unset = new LogCapture()
  const none = { ...CONFIG, HEALOW_CLIENT_SECRET: undefined, VAULT_KEY: undefined }
  const plain = pino({ ...(loggingOptions({ config: none, stream: unset }).logger as object) }, unset)
  plain.info('no secrets configured')
  t.match(unset.text, /"msg":"no secrets configured"/)
})

t.test('lines go to the given stream, to pino-pretty when asked or on a terminal, else to stdout as JSON', async (t) => {
  const options = (format: string, stream?: LogCapture) =>
    loggingOptions({ config: { ...CONFIG, LOG_FORMAT: format as 'json' }, stream }).logger as Record<string, unknown>
  const pretty = { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
  const capture = new LogCapture()
  t.equal(options('pretty', capture).stream, capture, 'a test stream wins')
  t.same(options('pretty').transport, pretty)
  t.equal(options('json').transport, undefined)
  t.equal(options('json').stream, undefined)
  const tty = process.stdout.isTTY
  t.teardown(() => { process.stdout.isTTY = tty })
  process.stdout.isTTY = false
  t.equal(options('auto').transport, undefined, 'auto, not a terminal: JSON')
  process.stdout.isTTY = true
  t.same(options('auto').transport, pretty, 'auto on a terminal: pretty')
  t.equal(options('json').transport, undefined, 'json on a terminal: JSON')
  t.equal(options('auto', capture).transport, undefined, 'auto with a stream: the stream')
  t.equal(options('info').level, 'info')
})

t.test("request ids: a caller's is kept only when harmless, and only from X-Request-Id", async (t) => {
  const { default: Fastify } = await import('fastify')
  const capture = new LogCapture()
  const app = Fastify(loggingOptions({ config: CONFIG, stream: capture }))
  app.get('/id', async (request) => request.id)
  t.teardown(() => app.close())
  const idFor = async (headers: Record<string, string>) => (await app.inject({ url: '/id', headers })).body
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  t.equal(await idFor({ 'x-request-id': 'abc.DEF_1-2' }), 'abc.DEF_1-2')
  t.equal(await idFor({ 'x-request-id': 'a'.repeat(8) }), 'a'.repeat(8), 'eight characters')
  t.equal(await idFor({ 'x-request-id': 'a'.repeat(128) }), 'a'.repeat(128), 'a hundred and twenty-eight')
  for (const bad of ['a'.repeat(7), 'a'.repeat(129), 'abcdefgh ij', 'abcdefgh"}', 'abcdefgh\\n{"level":60}', 'é'.repeat(8)]) {
    t.match(await idFor({ 'x-request-id': bad }), uuid, `${JSON.stringify(bad.slice(0, 20))} is replaced`)
  }
  t.match(await idFor({ 'request-id': 'abcdefgh-given' }), uuid, 'no other header is taken')
  t.not(await idFor({}), await idFor({}), 'a fresh id each time')
  const multi = await app.inject({ url: '/id', headers: { 'x-request-id': ['abcdefgh-1', 'abcdefgh-2'] } as never })
  t.match(multi.body, uuid, 'nor a repeated header')
})

t.test('a request is logged by method, redacted URL and address; a response by its status alone', async (t) => {
  const { default: Fastify } = await import('fastify')
  const capture = new LogCapture()
  const app = Fastify(loggingOptions({ config: CONFIG, stream: capture }))
  app.get('/healow/callback', async () => 'ok')
  t.teardown(() => app.close())
  await app.inject({ url: '/healow/callback?code=oauth-code-9&iss=x', headers: { authorization: 'Bearer t9', 'x-request-id': 'serialized-1' } })
  const lines = capture.lines.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.reqId === 'serialized-1')
  t.same(lines.find((l) => l.req)?.req, { method: 'GET', url: '/healow/callback?code=[Redacted]&iss=x', remoteAddress: '127.0.0.1' })
  t.same(lines.find((l) => l.res)?.res, { statusCode: 200 })
  t.notMatch(capture.text, /oauth-code-9|t9/)
})

t.test("a request's lazy logger: made once and only for a line that is written, and honest about its level", async (t) => {
  const capture = new LogCapture()
  const parent = pino({ level: 'warn' }, capture)
  let made = 0
  const child = (...args: Parameters<typeof parent.child>) => { made++; return parent.child(...args) }
  const counting = Object.assign(Object.create(parent) as typeof parent, { child })
  const lazy = lazyChildLogger(counting, { reqId: 'lazy-1' })
  t.equal(lazy.level, 'warn', "the parent's level before any line")
  lazy.info('below')
  lazy.debug('below')
  lazy.trace('below')
  t.equal(made, 0, 'no child for lines below the level')
  lazy.warn('w')
  lazy.error('e')
  lazy.fatal('f')
  t.equal(made, 1, 'one child for every line after')
  lazy.silent('never written')
  lazy.level = 'debug'
  lazy.debug('now written')
  t.equal(lazy.level, 'debug', "the child's own level once made")
  t.equal(parent.level, 'warn', "and the parent's is untouched")
  const written = capture.lines.map((l) => JSON.parse(l) as { msg: string, reqId: string, level: number })
  t.same(written.map((l) => l.msg), ['w', 'e', 'f', 'now written'])
  t.ok(written.every((l) => l.reqId === 'lazy-1'), 'all with the bindings')
  t.same(written.map((l) => l.level), [40, 50, 60, 20], 'each at its level')

  const tracing = lazyChildLogger(pino({ level: 'trace' }, capture), { reqId: 'lazy-trace' })
  tracing.trace('a trace line')
  t.match(capture.text, /"level":10,.*"reqId":"lazy-trace".*"msg":"a trace line"/, 'trace too, when enabled')

  const setFirst = lazyChildLogger(parent, { reqId: 'lazy-2' })
  setFirst.level = 'info'
  setFirst.info('after raising the level')
  t.match(capture.text, /"reqId":"lazy-2".*"msg":"after raising the level"/)

  const grandchild = lazyChildLogger(parent, { reqId: 'lazy-3' }).child({ part: 'nested' }, { level: 'error' })
  grandchild.warn('below the child level')
  grandchild.error('at it')
  t.notMatch(capture.text, /below the child level/, "a child's own options are passed on")
  t.match(capture.text, /"reqId":"lazy-3","part":"nested".*"msg":"at it"/)

  // A logger that cannot say which levels it writes gets every line.
  const lines: unknown[][] = []
  const other = { level: 'info', child: (bindings: unknown) => ({ info: (...args: unknown[]) => lines.push([bindings, ...args]) }) }
  lazyChildLogger(other as never, { reqId: 'other-1' }).info('written')
  t.same(lines, [[{ reqId: 'other-1' }, 'written']])

  made = 0
  lazyChildLogger(counting, { reqId: 'own-level' }, { level: 'debug' })
  lazyChildLogger(counting, { reqId: 'own-serializers' }, { serializers: {} })
  t.equal(made, 2, 'a route with its own level or serializers gets its child at once')
  lazyChildLogger(counting, { reqId: 'plain' }, {})
  t.equal(made, 2, 'others do not')
})
