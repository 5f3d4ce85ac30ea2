import type { Practice } from './practice.js'
import { partitionPoint } from './sorted.js'

export interface DirectoryChanges {
  added: number
  changed: number
  removed: number
}

// Practices between two chances to pause (see runSlicesAsync): 500 take well under a millisecond here.
export const PRACTICES_PER_STEP = 500

/**
 * What an import changes, practice by practice (same id, different name or FHIR base = changed); yields every
 * PRACTICES_PER_STEP practices of `before` (see runSlicesAsync). `after` must be sorted by id in code-unit order,
 * as a DirectoryCollector gives it: each earlier practice is looked up there by binary search, where a map of
 * 17,291 ids built on the gateway's thread at every refresh took 20-30 ms on a busy machine and left its table
 * as garbage.
 */
export function * compareDirectories (
  before: readonly Practice[],
  after: readonly Practice[]
): Generator<void, DirectoryChanges> {
  let kept = 0
  let changed = 0
  let seen = 0
  for (const old of before) {
    const now = after[partitionPoint(after.length, (at) => after[at].id < old.id)]
    if (now?.id === old.id) {
      kept++
      if (now.name !== old.name || now.fhirBase !== old.fhirBase) changed++
    }
    if (++seen % PRACTICES_PER_STEP === 0) yield
  }
  return { added: after.length - kept, changed, removed: before.length - kept }
}
