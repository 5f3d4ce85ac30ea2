import t from 'tap'
import { PRACTICES_PER_STEP, compareDirectories } from '../../../lib/directory/changes.js'
import type { Practice } from '../../../lib/directory/practice.js'
import { runSlices } from '../../../lib/directory/slices.js'
import { compareStrings } from '../../../lib/directory/sorted.js'

const practice = (n: number, name = `Practice ${n}`, fhirBase = `https://fhir4.healow.com/fhir/r4/P${n}`): Practice =>
  ({ id: `P${n}`, name, fhirBase, authorizeUrl: 'https://a.example', tokenUrl: 'https://t.example' })

const byId = (practices: Practice[]): Practice[] => practices.sort((a, b) => compareStrings(a.id, b.id))

t.test('a refresh of thousands of practices is compared in slices, with every change counted once', async (t) => {
  const before = Array.from({ length: 5000 }, (_, n) => practice(n))
  // The new directory sorted by id, as imported; the earlier one in any order (the index in use holds it by name).
  const after = byId([
    // Kept as they were, renamed, moved to another FHIR base, and new ones; 0-99 and 4,900-4,999 are gone.
    ...before.slice(100, 3000),
    ...before.slice(3000, 3500).map((p, i) => practice(3000 + i, `${p.name} Clinic`)),
    ...before.slice(3500, 3600).map((_, i) => practice(3500 + i, undefined, `https://fhir4.healow.com/fhir/r4/Q${i}`)),
    ...before.slice(3600, 4900),
    ...Array.from({ length: 700 }, (_, n) => practice(10_000 + n))
  ])
  const steps = compareDirectories([...before].reverse(), after)
  let slices = 0
  let step = steps.next()
  while (step.done !== true) { slices++; step = steps.next() }
  t.same(step.value, { added: 700, changed: 600, removed: 200 })
  // A chance to pause every PRACTICES_PER_STEP of the 5,000 earlier practices.
  const expected = Math.floor(before.length / PRACTICES_PER_STEP)
  t.ok(expected >= 10, 'steps of at most 500 practices')
  t.equal(slices, expected, `the work offers the event loop a turn every ${PRACTICES_PER_STEP} practices`)
  t.same(runSlices(compareDirectories([], after)), { added: after.length, changed: 0, removed: 0 }, 'a first load adds them all')
  t.same(runSlices(compareDirectories(before, byId([...before]))), { added: 0, changed: 0, removed: 0 }, 'the same directory again changes nothing')
  t.same(runSlices(compareDirectories(before, [])), { added: 0, changed: 0, removed: before.length }, 'an empty one removes them all')
})
