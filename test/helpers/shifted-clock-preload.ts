import { readFileSync } from 'node:fs'
import { shiftDate } from './shifted-date.js'

// Preloaded into a gateway process (`--import`) by test/simulated-year-postgres.test.ts: the
// process's Date runs ahead of the real clock by the number of milliseconds in the file that
// SHIFTED_CLOCK_FILE names. The file is read at start and re-read every 20 ms, so a test that
// advances it and waits a little moves every process's clock together. The test writes the file
// by rename, so a read never sees half a number.
const file = process.env.SHIFTED_CLOCK_FILE
if (file === undefined || file === '') throw new Error('SHIFTED_CLOCK_FILE must name the clock offset file')
const read = (): number => {
  const value = Number(readFileSync(file, 'utf8'))
  if (!Number.isFinite(value)) throw new Error(`SHIFTED_CLOCK_FILE holds no number: ${file}`)
  return value
}
let offset = read()
setInterval(() => {
  try {
    offset = read()
  } catch {
    // Keep the last offset; the test's next write fixes it.
  }
}, 20).unref()
shiftDate(() => offset)
