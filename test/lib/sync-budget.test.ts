import t from 'tap'
import { openPostgresRequestBudget } from '../../lib/budget/postgres.js'
import { SlidingWindowBudget, type RequestBudget } from '../../lib/budget/sliding-window.js'
import { freshPostgresDatabase } from '../helpers/postgres.js'

/**
 * takeSpare, the sync's way into the budget: it leaves `keepFree` slots of every window to
 * interactive reads, never jumps a queued read, and says how long to wait. The same script on
 * the in-process and the PostgreSQL budget must give the same answers.
 */
async function script (budget: RequestBudget, clock: { now: number }): Promise<unknown[]> {
  const answers: unknown[] = []
  // limit 5, keepFree 2: the sync gets 3 of every window.
  for (let i = 0; i < 4; i++) answers.push(await budget.takeSpare('A', 2))
  answers.push(await budget.take('A'), await budget.take('A'))
  answers.push(await budget.take('A'))
  clock.now += 400
  answers.push(await budget.takeSpare('A', 2))
  clock.now += 600
  answers.push(await budget.takeSpare('A', 2))
  await budget.holdOff('B', 300)
  answers.push(await budget.takeSpare('B', 2))
  answers.push(await budget.takeSpare('C', 5), await budget.takeSpare('C', 4))
  return answers
}

const ok = { ok: true }
const expected = [ok, ok, ok, { ok: false, retryAfterMs: 1000 }, ok, ok, { ok: false, retryAfterMs: 1000 },
  { ok: false, retryAfterMs: 600 }, ok, { ok: false, retryAfterMs: 300 }, { ok: false, retryAfterMs: 1000 }, ok]

t.test('in process: the sync takes only spare slots; interactive reads keep the reserve', async (t) => {
  const clock = { now: 1_000_000 }
  const budget = new SlidingWindowBudget({ limit: 5, windowMs: 1000, maxWaitMs: 0, now: () => clock.now })
  t.same(await script(budget, clock), expected)
})

t.test('PostgreSQL: the same answers', async (t) => {
  const clock = { now: 1_000_000 }
  const options = { limit: 5, windowMs: 1000, maxWaitMs: 0, now: () => clock.now }
  const budget = await openPostgresRequestBudget(await freshPostgresDatabase(t), options)
  t.teardown(() => budget.close())
  t.same(await script(budget, clock), expected)
})

t.test('a read queued for a slot is never overtaken by the sync', async (t) => {
  let now = 0
  const budget = new SlidingWindowBudget({ limit: 2, windowMs: 1000, maxWaitMs: 2000, now: () => now })
  t.same(await budget.take('A'), ok)
  t.same(await budget.take('A'), ok)
  const queued = budget.take('A') // reserved for t = 1000, waits
  t.match(await budget.takeSpare('A', 0), { ok: false }, 'the sync waits behind it')
  now = 1000
  t.same(await queued, ok)
})
