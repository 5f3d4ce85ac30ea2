import t from 'tap'
import { SlidingWindowBudget } from '../../lib/budget/sliding-window.js'
import { gatewayBudget } from '../../lib/budget/gateway-share.js'

t.test('at most `limit` requests in any window, per practice', async (t) => {
  let now = 1_000_000
  const budget = new SlidingWindowBudget({ limit: 3, windowMs: 60_000, maxWaitMs: 0, now: () => now })
  for (let i = 0; i < 3; i++) t.same(await budget.take('A'), { ok: true })
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 60_000 }, 'the fourth waits for the first to leave the window')
  t.same(await budget.take('B'), { ok: true }, 'another practice has its own budget')
  now += 30_000
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 30_000 })
  now += 30_000
  t.same(await budget.take('A'), { ok: true }, 'a slot frees exactly one window after it was used')
})

t.test('a request queues briefly when a slot frees within maxWaitMs', async (t) => {
  const budget = new SlidingWindowBudget({ limit: 2, windowMs: 300, maxWaitMs: 1_000 })
  const started = Date.now()
  const decisions = await Promise.all([0, 1, 2, 3].map(async () => await budget.take('A')))
  t.same(decisions, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }])
  t.ok(Date.now() - started >= 290, 'the third and fourth waited for the window to slide')
})

t.test('beyond the wait bound the answer is a refusal with the exact wait', async (t) => {
  let now = 0
  const budget = new SlidingWindowBudget({ limit: 1, windowMs: 10_000, maxWaitMs: 2_000, now: () => now })
  t.same(await budget.take('A'), { ok: true })
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 10_000 })
  now = 9_000
  const queued = budget.take('A')
  t.same(await queued, { ok: true }, 'within 2 s of a free slot it waits instead')
})

t.test('after Healow says 429, nothing goes until the hold-off ends', async (t) => {
  let now = 0
  const budget = new SlidingWindowBudget({ limit: 100, maxWaitMs: 2_000, now: () => now })
  await budget.holdOff('A', 30_000)
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 30_000 })
  t.same(await budget.take('B'), { ok: true })
  now = 30_000
  t.same(await budget.take('A'), { ok: true })
})

t.test('the gateway keeps a reserve of Healow\'s limit', async (t) => {
  t.equal(gatewayBudget(250), 240)
  t.equal(gatewayBudget(1), 1)
  t.throws(() => new SlidingWindowBudget({ limit: 0 }))
})

t.test('large limits stay exact after the expired send times are compacted away', async (t) => {
  let now = 0
  const limit = 1500
  const budget = new SlidingWindowBudget({ limit, windowMs: 1_000, maxWaitMs: 0, now: () => now })
  const granted: number[] = []
  for (let i = 0; i < 20_000; i++) {
    now += i % 2 // 2000 attempts a second against a limit of 1500
    if ((await budget.take('A')).ok) granted.push(now)
  }
  let worst = 0
  for (let i = 0, j = 0; i < granted.length; i++) {
    while (granted[j] <= granted[i] - 1_000) j++
    worst = Math.max(worst, i - j + 1)
  }
  t.equal(worst, limit, 'never more than the limit in any window, and the limit is reached')
})
