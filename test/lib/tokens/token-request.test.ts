import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import t from 'tap'
import { neverSent, sendTokenRequest, settleWithin } from '../../../lib/tokens/token-request.js'
import { scriptedTokenEndpoint } from '../../helpers/token-endpoint.js'

const form = () => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'refresh-1' })

t.test('each answer sorted by what Healow may have done with the request', async (t) => {
  const healow = await scriptedTokenEndpoint(t)
  const send = async () => await sendTokenRequest({ url: healow.url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, form: form() })
  const token = { access_token: 'a', token_type: 'Bearer' }
  const cases: Array<[Parameters<typeof healow.script>[0], unknown]> = [
    [{ status: 200, body: token }, { kind: 'ok', answer: { status: 200, body: token } }],
    [{ status: 201, body: token }, { kind: 'ok', answer: { status: 201, body: token } }],
    [{ status: 200, body: { token_type: 'Bearer' } }, { kind: 'unknown', reason: 'token endpoint answered 200 without a usable token; Healow may have acted on it' }],
    [{ status: 200, body: { access_token: 5 } }, { kind: 'unknown', reason: 'token endpoint answered 200 without a usable token; Healow may have acted on it' }],
    [{ status: 200, body: [token] }, { kind: 'unknown', reason: 'token endpoint answered 200 without a usable token; Healow may have acted on it' }],
    [{ status: 200, body: null }, { kind: 'unknown', reason: 'token endpoint answered 200 without a usable token; Healow may have acted on it' }],
    [{ status: 400, body: { error: 'invalid_grant' } }, { kind: 'invalid_grant', answer: { status: 400, body: { error: 'invalid_grant' } } }],
    [{ status: 400, body: { error: 'invalid_request' } }, { kind: 'rejected', answer: { status: 400, body: { error: 'invalid_request' } } }],
    [{ status: 401, body: ['invalid_grant'] }, { kind: 'rejected', answer: { status: 401, body: {} } }],
    [{ status: 429 }, { kind: 'not_processed', reason: 'token endpoint answered 429' }],
    [{ status: 503 }, { kind: 'not_processed', reason: 'token endpoint answered 503' }],
    [{ status: 500 }, { kind: 'unknown', reason: 'token endpoint answered 500; Healow may have acted on it' }],
    [{ status: 502 }, { kind: 'unknown', reason: 'token endpoint answered 502; Healow may have acted on it' }],
    [{ status: 499, body: { error: 'invalid_grant' } }, { kind: 'invalid_grant', answer: { status: 499, body: { error: 'invalid_grant' } } }],
    [{ status: 503, body: { error: 'x'.repeat(200) }, cut: true }, { kind: 'not_processed', reason: 'token endpoint answered 503' }]
  ]
  for (const [answer, outcome] of cases) {
    healow.script(answer)
    t.same(await send(), outcome, `${answer.status ?? 200} ${JSON.stringify(answer.body)}${answer.cut ? ' cut' : ''}`)
  }
  healow.script({ status: 200, body: { access_token: 'a', pad: 'x'.repeat(200) }, cut: true })
  t.match(await send(), { kind: 'unknown', reason: /^token endpoint's answer \(200\) was cut off mid-body \(\w+\); Healow may have acted on it$/ })
  t.same(healow.requests.map((r) => r.form.get('refresh_token')), Array(cases.length + 1).fill('refresh-1'), 'the form as given')
})

t.test('a connection refused never carried the request; one closed without an answer may have', async (t) => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const closedPort = (closed.address() as { port: number }).port
  await new Promise((resolve) => closed.close(resolve))
  const refused = await sendTokenRequest({ url: `http://127.0.0.1:${closedPort}/token`, headers: {}, form: form() })
  t.same(refused, { kind: 'not_processed', reason: 'token endpoint unreachable (ECONNREFUSED)' })
  const silent = createServer((socket) => { socket.once('data', () => socket.destroy()) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => silent.close())
  const { port } = silent.address() as { port: number }
  t.match(await sendTokenRequest({ url: `http://127.0.0.1:${port}/token`, headers: {}, form: form() }),
    { kind: 'unknown', reason: /^token endpoint dropped the request \(\w+\); Healow may have acted on it$/ })
})

t.test('a request that never left names why: the code of the cause, else of the error, else its kind', async (t) => {
  t.same(await sendTokenRequest({ url: 'http://[bad/token', headers: {}, form: form() }),
    { kind: 'unknown', reason: 'token endpoint dropped the request (ERR_INVALID_URL); Healow may have acted on it' })
  // A port fetch refuses to use: no code anywhere, only the error's name.
  t.same(await sendTokenRequest({ url: 'http://127.0.0.1:1/token', headers: {}, form: form() }),
    { kind: 'unknown', reason: 'token endpoint dropped the request (TypeError); Healow may have acted on it' })
})

t.test('a request never sent: a connection refused, a name that does not resolve, no route; by the code of the cause, else of the error', async (t) => {
  for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']) {
    t.ok(neverSent(Object.assign(new TypeError('fetch failed'), { cause: { code } })), `${code} as the cause`)
    t.ok(neverSent(Object.assign(new Error(code), { code })), `${code} on the error itself`)
  }
  for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'ETIMEDOUT', '']) {
    t.notOk(neverSent(Object.assign(new TypeError('fetch failed'), { cause: { code } })), `${code || 'no code'}: may have reached Healow`)
  }
  t.notOk(neverSent(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' }, code: 'ECONNREFUSED' })), 'the cause decides')
  t.notOk(neverSent(new TypeError('fetch failed')), 'no code at all')
})

t.test('an answer that is not a JSON object: no token, and no body passed on', async (t) => {
  const bodies = [['200', 'not json'], ['400', 'not json'], ['400', '"invalid_grant"'], ['400', '5'], ['400', 'null'], ['200', 'null']]
  const server = createHttpServer((req, res) => {
    const [status, text] = bodies.shift()!
    req.resume()
    req.on('end', () => { res.writeHead(Number(status), { 'content-type': 'application/json' }); res.end(text) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`
  const send = async () => await sendTokenRequest({ url, headers: {}, form: form() })
  t.same(await send(), { kind: 'unknown', reason: 'token endpoint answered 200 without a usable token; Healow may have acted on it' })
  for (const text of ['not json', '"invalid_grant"', '5', 'null']) {
    t.same(await send(), { kind: 'rejected', answer: { status: 400, body: {} } }, text)
  }
  t.same(await send(), { kind: 'unknown', reason: 'token endpoint answered 200 without a usable token; Healow may have acted on it' }, 'null')
})

t.test('a redirect is not followed: the refresh token goes to the token URL only', async (t) => {
  const healow = await scriptedTokenEndpoint(t)
  healow.script({ status: 302, body: { error: 'moved' } })
  t.same(await sendTokenRequest({ url: healow.url, headers: {}, form: form() }), { kind: 'rejected', answer: { status: 302, body: { error: 'moved' } } })
})

t.test('settleWithin: the value if it comes in time, else undefined while the promise runs on', async (t) => {
  t.same(await settleWithin(Promise.resolve(7), 50), { value: 7 })
  let finish = (_: string) => {}
  const slow = new Promise<string>((resolve) => { finish = resolve })
  const started = Date.now()
  t.equal(await settleWithin(slow, 60), undefined)
  t.ok(Date.now() - started >= 55, 'waited its time')
  finish('late')
  t.equal(await slow, 'late')
  await t.rejects(settleWithin(Promise.reject(new Error('no')), 50), { message: 'no' })
})
