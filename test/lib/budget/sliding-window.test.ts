import t from 'tap'
import { SlidingWindowBudget, spareWait } from '../../../lib/budget/sliding-window.js'

/** A budget on a clock the test moves. */
function budgetAt (start: number, options: { limit: number, windowMs?: number, maxWaitMs?: number }) {
  const clock = { now: start }
  return { clock, budget: new SlidingWindowBudget({ ...options, now: () => clock.now }) }
}

t.test('a limit is a whole number of at least 1', async (t) => {
  for (const limit of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => new SlidingWindowBudget({ limit }), { message: 'a request budget needs a limit of at least 1' }, String(limit))
  }
  const { budget } = budgetAt(0, { limit: 1, maxWaitMs: 0 })
  t.same(await budget.take('A'), { ok: true }, 'a limit of 1 grants one')
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 60_000 }, 'and one only, for a minute by default')
})

t.test('the default wait bound is 2 s: a slot freeing in exactly 2 s is waited for, one in 2.001 s refused', async (t) => {
  const { clock, budget } = budgetAt(10_000, { limit: 1, windowMs: 2_001 })
  t.same(await budget.take('A'), { ok: true })
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 2_001 })
  clock.now += 1
  // The clock stands still while the request waits its 2 s for real: the wait is decided once.
  const started = Date.now()
  t.same(await budget.take('A'), { ok: true })
  t.ok(Date.now() - started >= 1_990, 'it waited')
})

t.test('a wait exactly as long as maxWaitMs is waited for', async (t) => {
  const { budget } = budgetAt(0, { limit: 1, windowMs: 40, maxWaitMs: 40 })
  t.same(await budget.take('A'), { ok: true })
  const started = Date.now()
  t.same(await budget.take('A'), { ok: true })
  t.ok(Date.now() - started >= 35, 'after the window slid')
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 80 }, 'the next one would wait two windows')
})

t.test('a free slot is granted at once, not after a timer tick', async (t) => {
  const { budget } = budgetAt(0, { limit: 5 })
  let granted = false
  void budget.take('A').then(() => { granted = true })
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(granted)
})

t.test('a send exactly one window old has left it; one a millisecond younger has not', async (t) => {
  const { clock, budget } = budgetAt(0, { limit: 2, windowMs: 1_000, maxWaitMs: 0 })
  t.same(await budget.take('A'), { ok: true })
  clock.now = 1
  t.same(await budget.take('A'), { ok: true })
  clock.now = 999
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 1 })
  clock.now = 1_000
  t.same(await budget.take('A'), { ok: true }, 'the first left at 1000')
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 1 }, 'the second leaves at 1001')
})

t.test('takeSpare: background work only while more than keepFree slots stay free', async (t) => {
  const { clock, budget } = budgetAt(0, { limit: 5, windowMs: 1_000 })
  t.same(await budget.takeSpare('A', 2), { ok: true })
  t.same(await budget.takeSpare('A', 2), { ok: true })
  t.same(await budget.takeSpare('A', 2), { ok: true }, 'three of five used')
  t.same(await budget.takeSpare('A', 2), { ok: false, retryAfterMs: 1_000 }, 'two kept free for interactive reads, until the first leaves')
  t.same(await budget.take('A'), { ok: true }, 'an interactive read still finds a slot')
  t.same(await budget.take('A'), { ok: true })
  t.same(await budget.takeSpare('B', 2), { ok: true }, 'another practice has its own window')
  clock.now = 999
  t.same(await budget.takeSpare('A', 2), { ok: false, retryAfterMs: 1 })
  clock.now = 1_000
  t.same(await budget.takeSpare('A', 4), { ok: true }, 'all five of the first moment left the window: one spare slot of five')
  t.same(await budget.takeSpare('A', 4), { ok: false, retryAfterMs: 1_000 })
})

t.test('takeSpare: a budget that keeps every slot free has none to spare', async (t) => {
  const { budget } = budgetAt(0, { limit: 3, windowMs: 5_000 })
  t.same(await budget.takeSpare('A', 3), { ok: false, retryAfterMs: 5_000 })
  t.same(await budget.takeSpare('A', 2), { ok: true }, 'keeping one less free leaves one')
})

t.test('takeSpare: never ahead of a queued interactive request, nor during a hold-off', async (t) => {
  const { clock, budget } = budgetAt(0, { limit: 2, windowMs: 100, maxWaitMs: 1_000 })
  t.same(await budget.take('A'), { ok: true })
  clock.now = 50
  t.same(await budget.take('A'), { ok: true })
  const queued = budget.take('A') // reserved for 100, when the first send leaves
  t.same(await budget.takeSpare('A', 0), { ok: false, retryAfterMs: 100 }, 'the queued request counts: until the second send leaves')
  await queued
  clock.now = 100
  t.same(await budget.takeSpare('A', 0), { ok: false, retryAfterMs: 50 }, 'at the queued request\'s own moment: still two in the window')

  const held = budgetAt(0, { limit: 10, windowMs: 100 })
  await held.budget.holdOff('A', 700)
  t.same(await held.budget.takeSpare('A', 0), { ok: false, retryAfterMs: 700 })
  held.clock.now = 700
  t.same(await held.budget.takeSpare('A', 0), { ok: true })
})

t.test('holdOff: a later, shorter hold-off does not shorten the first', async (t) => {
  const { clock, budget } = budgetAt(0, { limit: 10, maxWaitMs: 0 })
  await budget.holdOff('A', 30_000)
  clock.now = 10_000
  await budget.holdOff('A', 5_000)
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 20_000 })
  await budget.holdOff('A', 25_000)
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 25_000 }, 'a longer one extends it')
})

t.test('spareWait: the wait of a background request, never "0 but refused"', async (t) => {
  const base = { now: 1_000, inWindow: 0, spare: 2, blockedUntil: 0, queuedUntil: 0, oldestFreeing: () => 5_000 }
  t.equal(spareWait(base), 0, 'room, nothing queued or blocked: now')
  t.equal(spareWait({ ...base, inWindow: 1 }), 0, 'one below the spare share')
  t.equal(spareWait({ ...base, inWindow: 2 }), 4_000, 'the spare share used: until the oldest leaves')
  t.equal(spareWait({ ...base, inWindow: 2, oldestFreeing: () => 1_000 }), 1, 'leaving this very millisecond: 1, not 0')
  t.equal(spareWait({ ...base, blockedUntil: 1_300 }), 300)
  t.equal(spareWait({ ...base, queuedUntil: 1_200 }), 200)
  t.equal(spareWait({ ...base, queuedUntil: 1_200, blockedUntil: 1_300 }), 300, 'the longer of the two')
  t.equal(spareWait({ ...base, queuedUntil: 900, blockedUntil: 800 }), 0, 'both in the past')
  t.equal(spareWait({ ...base, inWindow: 1, oldestFreeing: () => { throw new Error('not asked while there is room') } }), 0)
})

t.test('sends that left the window count for nothing, for interactive and background requests alike', async (t) => {
  const { clock, budget } = budgetAt(0, { limit: 3, windowMs: 1_000, maxWaitMs: 0 })
  t.same(await budget.take('A'), { ok: true })
  clock.now = 1
  t.same(await budget.take('A'), { ok: true })
  clock.now = 5_000
  t.same(await budget.take('A'), { ok: true }, 'fewer sends than the limit, the older ones long gone')
  t.same(await budget.takeSpare('A', 1), { ok: true }, 'one in the window, two spare')
  t.same(await budget.take('A'), { ok: true })
  t.same(await budget.take('A'), { ok: false, retryAfterMs: 1_000 }, 'three in the window: full')
  t.same(await budget.takeSpare('A', 0), { ok: false, retryAfterMs: 1_000 })
})
