import t from 'tap'
import { PassThrough, Readable } from 'node:stream'
import { SlidingWindowBudget } from '../../../lib/budget/sliding-window.js'
import { GatewayError, RateLimitedError } from '../../../lib/errors.js'
import {
  discard, holdOffAfterUpstream429, MAX_BUNDLE_BYTES, readBundleText, takeBudgetOrRefuse, upstreamFailure
} from '../../../lib/fhir/upstream.js'

t.test('a Bundle is read whole, in one chunk or many, a character split across chunks included', async (t) => {
  t.equal(await readBundleText(Readable.from([Buffer.from('{"a":"é"}')])), '{"a":"é"}')
  const text = Buffer.from('{"resourceType":"Bundle","note":"é"}')
  const cut = text.indexOf(0xa9) // the second byte of é
  t.equal(await readBundleText(Readable.from([text.subarray(0, cut), text.subarray(cut)])), text.toString('utf8'))
  t.equal(await readBundleText(Readable.from([])), '', 'an empty body is empty text')
})

t.test('a Bundle of exactly the limit is read; one byte more is refused with a 502 that says why', async (t) => {
  t.equal(MAX_BUNDLE_BYTES, 20 * 1024 * 1024)
  const half = Buffer.alloc(MAX_BUNDLE_BYTES / 2, 0x20)
  t.equal((await readBundleText(Readable.from([half, half]))).length, MAX_BUNDLE_BYTES, 'exactly the limit')
  const over = Readable.from([half, half, Buffer.from(' ')])
  const refused = await readBundleText(over).catch((err: unknown) => err)
  t.ok(refused instanceof GatewayError)
  t.match(refused, { statusCode: 502, code: 'upstream_unavailable', message: "Healow's Bundle is larger than 20 MB; ask for smaller pages" })
  t.ok(over.destroyed, 'and the upstream body is no longer read')
})

t.test('a body that fails midway is a 502, or a 504 when it timed out', async (t) => {
  const broken = new PassThrough()
  const reading = readBundleText(broken)
  broken.write('{"resourceType":')
  broken.destroy(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))
  t.match(await reading.catch((err: unknown) => err), { statusCode: 502, code: 'upstream_unavailable' })
  const slow = new PassThrough()
  const waiting = readBundleText(slow)
  slow.destroy(Object.assign(new Error('body timeout'), { code: 'UND_ERR_BODY_TIMEOUT' }))
  t.match(await waiting.catch((err: unknown) => err), { statusCode: 504, code: 'upstream_timeout' })
})

t.test('upstream failures: timeouts are 504, everything else 502, each saying what to do', async (t) => {
  const timeout = { statusCode: 504, code: 'upstream_timeout', message: 'Healow did not answer in time; try again later' }
  const down = { statusCode: 502, code: 'upstream_unavailable', message: 'Healow could not be reached or dropped the connection; try again later' }
  t.match(upstreamFailure({ statusCode: 504 }), timeout, "reply-from's own timeout")
  t.match(upstreamFailure({ code: 'UND_ERR_HEADERS_TIMEOUT' }), timeout)
  t.match(upstreamFailure({ code: 'UND_ERR_BODY_TIMEOUT' }), timeout)
  t.match(upstreamFailure({ cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } }), timeout, 'the cause decides')
  t.match(upstreamFailure({ code: 'UND_ERR_HEADERS_TIMEOUT', cause: { code: 'ECONNREFUSED' } }), down, 'the cause wins over the wrapper')
  t.match(upstreamFailure({ cause: {}, code: 'UND_ERR_BODY_TIMEOUT' }), timeout, 'a cause without a code leaves the wrapper to decide')
  t.match(upstreamFailure({ code: 'ECONNRESET' }), down)
  t.match(upstreamFailure({ statusCode: 503 }), down)
  t.match(upstreamFailure({}), down)
})

t.test('a discarded body is drained, and its errors do not crash the gateway', async (t) => {
  const body = new PassThrough()
  discard(body)
  t.equal(body.readableFlowing, true, 'read to the end')
  const ended = new Promise((resolve) => body.on('end', resolve))
  body.end('ignored')
  await ended
  const failing = new PassThrough()
  discard(failing)
  failing.destroy(new Error('reset'))
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(failing.destroyed, 'an error after discarding is swallowed')
})

t.test("the practice's budget: one request taken, or a 429 carrying the wait", async (t) => {
  let now = 1_000_000
  const budget = new SlidingWindowBudget({ limit: 1, windowMs: 60_000, maxWaitMs: 0, now: () => now })
  await takeBudgetOrRefuse(budget, 'JAFJCD')
  const refused = await takeBudgetOrRefuse(budget, 'JAFJCD').catch((err: unknown) => err)
  t.ok(refused instanceof RateLimitedError)
  t.match(refused, {
    statusCode: 429,
    code: 'rate_limited',
    retryAfterMs: 60_000,
    message: "This practice's share of Healow's request limit is spent for now; try again after Retry-After"
  })
  await takeBudgetOrRefuse(budget, 'BHDGCD')
  t.pass('another practice has its own budget')
  now += 60_000
  await takeBudgetOrRefuse(budget, 'JAFJCD')
  t.pass('and the spent one frees up after the window')
})

t.test("after Healow's 429 nothing goes to the practice until its Retry-After has passed", async (t) => {
  let now = 1_000_000
  const budget = new SlidingWindowBudget({ limit: 100, windowMs: 60_000, maxWaitMs: 0, now: () => now })
  const error = await holdOffAfterUpstream429(budget, 'JAFJCD', '7')
  t.ok(error instanceof RateLimitedError)
  t.match(error, {
    statusCode: 429,
    code: 'rate_limited',
    retryAfterMs: 7000,
    message: "Healow's request limit for this practice is reached; try again after Retry-After"
  })
  t.same(await budget.take('JAFJCD'), { ok: false, retryAfterMs: 7000 }, 'the practice is held off')
  t.same(await budget.take('BHDGCD'), { ok: true }, 'other practices are not')
  now += 7000
  t.same(await budget.take('JAFJCD'), { ok: true }, 'and it is free again after the wait')
})
