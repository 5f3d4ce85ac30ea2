import t from 'tap'
import { seededRandom } from '../../../simulator/prng.js'
import { runSlices, runSlicesAsync } from '../../../lib/directory/slices.js'
import { partitionPoint, sortInSlices } from '../../../lib/directory/sorted.js'

t.test('sortInSlices sorts as Array.prototype.sort does, equal items kept in order, across run boundaries', async (t) => {
  const random = seededRandom('sorted', 1)
  for (const count of [0, 1, 2, 1023, 1024, 1025, 3000, 5000, 20_001]) {
    const items = Array.from({ length: count }, (_, position) => ({ key: Math.floor(random() * count / 3), position }))
    const byKey = (a: { key: number }, b: { key: number }): number => a.key - b.key
    const expected = [...items].sort(byKey)
    let pauses = 0
    const steps = sortInSlices(items, byKey)
    let step = steps.next()
    while (step.done !== true) { pauses++; step = steps.next() }
    t.same(step.value, expected, `${count} items`)
    t.equal(step.value, items, 'sorted in place')
    if (count > 2048) t.ok(pauses >= Math.ceil(count / 1024), `${count} items: ${pauses} pauses`)
  }
})

t.test('runSlicesAsync gives the same result as runSlices and lets timers and I/O in between', async (t) => {
  const words = Array.from({ length: 50_000 }, (_, i) => `w${(i * 7919) % 50_000}`)
  const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  let ticks = 0
  const ticker = setInterval(() => { ticks++ }, 1)
  const sortedAsync = await runSlicesAsync(sortInSlices([...words], compare))
  clearInterval(ticker)
  t.same(sortedAsync, runSlices(sortInSlices([...words], compare)))
  t.same(sortedAsync, [...words].sort())
  t.ok(ticks > 0, `a 1 ms timer ran ${ticks} times during the sort`)
})

t.test('partitionPoint finds the first position where the predicate turns false', async (t) => {
  const sorted = [1, 3, 3, 3, 7]
  t.equal(partitionPoint(sorted.length, (i) => sorted[i] < 3), 1)
  t.equal(partitionPoint(sorted.length, (i) => sorted[i] <= 3), 4)
  t.equal(partitionPoint(sorted.length, (i) => sorted[i] < 0), 0)
  t.equal(partitionPoint(sorted.length, (i) => sorted[i] < 100), 5)
  t.equal(partitionPoint(0, () => true), 0)
})
