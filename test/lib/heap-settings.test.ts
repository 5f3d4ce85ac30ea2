import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { LEAN_HEAP_FLAGS } from '../../lib/heap-settings.js'

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
