import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import {
  GROWTH_FACTOR_HONOURED, LEAN_HEAP_FLAGS, YOUNG_GENERATION_SEMI_SPACE_CAP, YoungGenerationCap
} from '../../lib/heap-settings.js'

// Applies the flags given as JSON (as applyLeanHeapSettings does, at run time), keeps a live set, then
// makes batches of objects that live long enough to reach the old generation before they die; prints
// the largest heap V8 committed meanwhile, in MiB.
const ALLOCATE = `
const v8 = require('node:v8')
for (const flag of JSON.parse(process.argv[1])) v8.setFlagsFromString(flag)
const live = Array.from({ length: 200000 }, (_, i) => ({ i, text: 'live ' + i }))
const kept = []
let peak = 0
for (let round = 0; round < 300; round++) {
  kept.push(Array.from({ length: 20000 }, (_, i) => ({ round, i, text: 'garbage ' + i })))
  if (kept.length > 8) kept.shift()
  peak = Math.max(peak, v8.getHeapStatistics().total_heap_size)
}
process.stdout.write(String(live.length > 0 ? peak / 1048576 : 0))
`

async function peakHeap (flags: readonly string[]): Promise<{ mib: number, stderr: string }> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['-e', ALLOCATE, JSON.stringify(flags)])
  return { mib: Number(stdout), stderr }
}

t.test('the lean heap settings, set while the process runs, keep the old generation close to what lives', async (t) => {
  const lean = await peakHeap(LEAN_HEAP_FLAGS)
  t.equal(lean.stderr, '', 'this Node knows every flag (an unknown one is reported on stderr and ignored)')
  const usual = await peakHeap([])
  t.ok(lean.mib < usual.mib * 0.85, `peak heap ${lean.mib.toFixed(0)} MiB with them, ${usual.mib.toFixed(0)} MiB without`)
})

t.test('the young generation cap doubles while there is room under the cap, and stops there', async (t) => {
  const MiB = 1024 * 1024
  let capacity = 1 * MiB
  const factors: number[] = []
  const cap = new YoungGenerationCap({
    capBytes: 4 * MiB, capacity: () => capacity, setGrowthFactor: (f) => factors.push(f)
  })
  t.equal(cap.adjust(), 2, 'at 1 MiB: doubling')
  capacity = 2 * MiB
  t.equal(cap.adjust(), 2, 'at 2 MiB: doubling reaches the cap')
  capacity = 4 * MiB - 16 * 1024 // V8 reports the room for objects, a little under the semi-space's size
  t.equal(cap.adjust(), 1, 'at the cap: no more growth')
  capacity = 8 * MiB
  t.equal(cap.adjust(), 1, 'past it (two growths before the adjustment): none either')
  capacity = 1 * MiB
  t.equal(cap.adjust(), 2, 'V8 shrank it while quiet: it may grow back')
  t.same(factors, [2, 1, 2], 'V8 is told only of a change')
})

// Applies the lean heap settings as the gateway process does, then keeps making objects that survive
// a collection or two, as in-flight requests and an import do; prints the largest room V8 gave its
// young generation meanwhile, in MiB.
const GROW_YOUNG_GENERATION = `
const { applyLeanHeapSettings, semiSpaceCapacity } = require(process.argv[1])
if (process.argv[2] === 'lean') applyLeanHeapSettings(process.execArgv.join(' '))
let largest = 0
const recent = []
const started = Date.now()
;(function work () {
  for (let batch = 0; batch < 20; batch++) {
    recent.push(Array.from({ length: 2000 }, (_, i) => ({ i, text: 'young ' + i })))
    if (recent.length > 5) recent.shift()
  }
  largest = Math.max(largest, semiSpaceCapacity())
  if (Date.now() - started < 1500) setImmediate(work)
  else process.stdout.write(String(largest / 1048576))
})()
`

async function largestYoungGeneration (settings: 'lean' | 'none', nodeOptions: string[] = []): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--import', 'tsx', ...nodeOptions, '-e', GROW_YOUNG_GENERATION, fileURLToPath(new URL('../../lib/heap-settings.ts', import.meta.url)), settings
  ])
  return Number(stdout)
}

const CAP_MIB = YOUNG_GENERATION_SEMI_SPACE_CAP / 1024 / 1024

t.test('in a running process the young generation stays within the cap (one doubling past it at most)', { skip: !GROWTH_FACTOR_HONOURED && 'V8 13 ignores the growth factor' }, async (t) => {
  const lean = await largestYoungGeneration('lean')
  const usual = await largestYoungGeneration('none')
  t.ok(lean <= 2 * CAP_MIB, `${lean.toFixed(1)} MiB with the cap of ${CAP_MIB} MiB`)
  t.ok(usual > 2 * CAP_MIB, `${usual.toFixed(1)} MiB without it: the workload does grow it`)
})

t.test("an operator's own young generation option wins over the cap", { skip: !GROWTH_FACTOR_HONOURED && 'V8 13 ignores the growth factor' }, async (t) => {
  const theirs = await largestYoungGeneration('lean', ['--max-semi-space-size=16'])
  t.ok(theirs > 2 * CAP_MIB, `${theirs.toFixed(1)} MiB with --max-semi-space-size=16: the cap stayed out of it`)
})
