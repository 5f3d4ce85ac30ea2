import type { Practice } from './practice.js'

export interface DirectoryChanges {
  added: number
  changed: number
  removed: number
}

// Practices between two chances to pause (see runSlicesAsync): 500 take well under a millisecond here.
export const PRACTICES_PER_STEP = 500

/**
 * What an import changes, practice by practice (same id, different name or FHIR base = changed); yields every
 * PRACTICES_PER_STEP practices (see runSlicesAsync).
 */
export function * compareDirectories (
  before: readonly Practice[],
  after: readonly Practice[]
): Generator<void, DirectoryChanges> {
  const previous = new Map<string, Practice>()
  let seen = 0
  for (const practice of before) {
    previous.set(practice.id, practice)
    if (++seen % PRACTICES_PER_STEP === 0) yield
  }
  let added = 0
  let changed = 0
  seen = 0
  for (const practice of after) {
    const old = previous.get(practice.id)
    if (old === undefined) added++
    else if (old.name !== practice.name || old.fhirBase !== practice.fhirBase) changed++
    previous.delete(practice.id)
    if (++seen % PRACTICES_PER_STEP === 0) yield
  }
  return { added, changed, removed: previous.size }
}
