import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { IdleCollector } from '../../lib/idle-collection.js'

const MiB = 1024 * 1024

/** A collector over a heap whose figures the test sets, counting the collections it asks for. */
function collectorOver (heap: { total: number, used: number }, afterCollection: { total: number, used: number }) {
  let collections = 0
  const collector = new IdleCollector({
    heap: () => ({ ...heap }),
    collect: () => {
      collections++
      Object.assign(heap, afterCollection)
    }
  })
  return { collector, heap, collections: () => collections }
}

t.test('after a burst, a quiet period gets two collections, and no more until the heap grows again', async (t) => {
  const { collector, heap, collections } = collectorOver(
    { total: 70 * MiB, used: 36 * MiB },
    { total: 66 * MiB, used: 26 * MiB }
  )
  t.equal(collector.check(), true, 'quiet, with 34 MiB of spare room: collected')
  t.equal(collector.check(), true, 'V8 gave little back yet: once more')
  t.equal(collector.check(), false, 'then it stops, whatever V8 keeps')
  t.equal(collector.check(), false)
  t.equal(collections(), 2)
  Object.assign(heap, { total: 80 * MiB, used: 40 * MiB })
  t.equal(collector.check(), true, 'the heap grew again: a new quiet spell collects')
})

t.test('a busy period is never paused; the collection waits for quiet', async (t) => {
  const { collector, collections } = collectorOver(
    { total: 70 * MiB, used: 30 * MiB },
    { total: 30 * MiB, used: 26 * MiB }
  )
  for (let i = 0; i < 11; i++) collector.noteRequest()
  t.equal(collector.check(), false, '11 requests in the period: busy')
  t.equal(collections(), 0)
  for (let i = 0; i < 10; i++) collector.noteRequest()
  t.equal(collector.check(), true, 'ten (health probes, a stray read) still count as quiet')
})

t.test('a heap without spare room is left alone', async (t) => {
  const { collector, collections } = collectorOver(
    { total: 33 * MiB, used: 26 * MiB },
    { total: 33 * MiB, used: 26 * MiB }
  )
  t.equal(collector.check(), false, '7 MiB of spare room is not worth a collection')
  t.equal(collections(), 0)
})

// In a process of its own, with V8's real collector: a burst leaves garbage behind, then quiet.
const BURST = `
const v8 = require('node:v8')
const { IdleCollector } = require(process.argv[1])
let kept = []
for (let i = 0; i < 60; i++) kept.push(Array.from({ length: 20000 }, (_, j) => ({ i, j, text: 'burst ' + j })))
kept = null
const before = v8.getHeapStatistics().total_heap_size
const collector = new IdleCollector()
const collected = [collector.check(), collector.check(), collector.check()]
process.stdout.write(JSON.stringify({ before, after: v8.getHeapStatistics().total_heap_size, collected }))
`

t.test('with V8 itself: the heap a burst left behind is given back', async (t) => {
  const modulePath = new URL('../../lib/idle-collection.ts', import.meta.url).pathname
  const { stdout } = await promisify(execFile)(process.execPath, ['--import=tsx', '-e', BURST, modulePath])
  const { before, after, collected } = JSON.parse(stdout) as { before: number, after: number, collected: boolean[] }
  t.same(collected, [true, true, false], 'two collections, then none')
  t.ok(after < before - 40 * MiB, `committed heap ${(before / MiB).toFixed(0)} → ${(after / MiB).toFixed(0)} MiB`)
})
