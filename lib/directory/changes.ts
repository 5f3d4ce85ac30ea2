import type { Practice } from './practice.js'

export interface DirectoryChanges {
  added: number
  changed: number
  removed: number
}

/** What an import changes, practice by practice (same id, different name or FHIR base = changed). */
export function compareDirectories (before: readonly Practice[], after: readonly Practice[]): DirectoryChanges {
  const previous = new Map(before.map((practice) => [practice.id, practice]))
  let added = 0
  let changed = 0
  for (const practice of after) {
    const old = previous.get(practice.id)
    if (old === undefined) added++
    else if (old.name !== practice.name || old.fhirBase !== practice.fhirBase) changed++
    previous.delete(practice.id)
  }
  return { added, changed, removed: previous.size }
}
