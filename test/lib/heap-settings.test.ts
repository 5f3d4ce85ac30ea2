import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { LEAN_HEAP_FLAGS } from '../../lib/heap-settings.js'

// Applies the flags given as JSON (as applyLeanHeapSettings does, at run time), then makes many objects
// that survive a scavenge or two, the pattern that grows the young generation; prints its size in bytes.
const ALLOCATE = `
const v8 = require('node:v8')
for (const flag of JSON.parse(process.argv[1])) v8.setFlagsFromString(flag)
let kept = []
for (let i = 0; i < 3e6; i++) { kept.push({ i, text: 'x' + i }); if (kept.length > 100000) kept = [] }
process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))
`

async function youngGenerationAfterAllocating (flags: readonly string[]): Promise<{ bytes: number, stderr: string }> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['-e', ALLOCATE, JSON.stringify(flags)])
  return { bytes: Number(stdout), stderr }
}

t.test('the lean heap settings keep the young generation at its initial 2 MB, set while the process runs', async (t) => {
  const lean = await youngGenerationAfterAllocating(LEAN_HEAP_FLAGS)
  t.equal(lean.stderr, '', 'this Node knows every flag (an unknown one is reported on stderr and ignored)')
  t.ok(lean.bytes <= 2 * 1024 * 1024, `young generation ${lean.bytes} bytes`)
  const usual = await youngGenerationAfterAllocating([])
  t.ok(usual.bytes > 4 * 1024 * 1024, `without them the same work grows it to ${usual.bytes} bytes`)
})
