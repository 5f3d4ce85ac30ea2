import t from 'tap'
import { openPostgresRequestBudget } from '../../lib/budget/postgres.js'
import { SlidingWindowBudget, type RequestBudget, type SlidingWindowOptions } from '../../lib/budget/sliding-window.js'
import { freshPostgresDatabase } from '../helpers/postgres.js'

type Test = Parameters<typeof freshPostgresDatabase>[0]

async function openShared (t: Test, url: string, options: SlidingWindowOptions): Promise<RequestBudget> {
  const budget = await openPostgresRequestBudget(url, options)
  t.teardown(() => budget.close())
  return budget
}

t.test('decides exactly as the in-process sliding window does', async (t) => {
  let clock = 1_700_000_000_000
  const options = { limit: 3, windowMs: 1000, maxWaitMs: 150, now: () => clock }
  const budgets = {
    inProcess: new SlidingWindowBudget(options),
    postgres: await openShared(t, await freshPostgresDatabase(t), options)
  }
  // [clock step before the request, practice]; a hold-off is asked for at step 'hold'.
  const script: Array<[number, string]> = [[0, 'A'], [10, 'A'], [10, 'B'], [10, 'A'], [10, 'A'], [870, 'A'], [100, 'A'],
    [5, 'A'], [1000, 'B'], [0, 'hold'], [50, 'B'], [300, 'B'], [0, 'A']]
  const decisions: Record<keyof typeof budgets, unknown[]> = { inProcess: [], postgres: [] }
  for (const [step, practice] of script) {
    clock += step
    for (const name of ['inProcess', 'postgres'] as const) {
      if (practice === 'hold') await budgets[name].holdOff('B', 300)
      else decisions[name].push(await budgets[name].take(practice))
    }
  }
  t.same(decisions.postgres, decisions.inProcess)
  const ok = { ok: true }
  t.same(decisions.inProcess, [
    ok, ok, ok, ok, { ok: false, retryAfterMs: 960 },
    ok, ok, ok, ok, { ok: false, retryAfterMs: 250 },
    ok, ok
  ], 'the script covers a full window, a short wait, a refusal and a hold-off')
})

t.test('two instances share one budget per practice', async (t) => {
  const url = await freshPostgresDatabase(t)
  const options = { limit: 40, maxWaitMs: 0 }
  const [a, b] = await Promise.all([openShared(t, url, options), openShared(t, url, options)])
  const decisions = await Promise.all(Array.from({ length: 200 }, async (_, i) => await (i % 2 === 0 ? a : b).take(i % 4 < 2 ? 'ONE' : 'TWO')))
  t.equal(decisions.filter((d) => d.ok).length, 80, '40 for each of two practices, however the requests were spread')
  await a.holdOff('THREE', 60_000)
  t.match(await b.take('THREE'), { ok: false }, 'a hold-off one instance learned from a 429 holds the other back too')
})
