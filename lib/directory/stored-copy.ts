// The copy of the directory the store keeps, so that a restart serves practices before Healow answers. A module
// of its own: the directory's import process writes it too, and loads only what it runs.
import type { Practice } from './practice.js'

/** What the store keeps of a practice: its OAuth URLs come from the configuration when the copy is loaded. */
export type StoredPractice = Pick<Practice, 'id' | 'name' | 'fhirBase'>

// Practices per slice of the stored copy's JSON: 17,291 at once held requests for ~20 ms.
const STORED_PER_SLICE = 500

/**
 * The stored copy of the practices as JSON text, written in slices: id, name and FHIR base each, a third
 * smaller without the OAuth URLs every practice shares.
 */
export function * storedPracticesJson (practices: readonly StoredPractice[]): Generator<void, string> {
  const parts: string[] = []
  for (let from = 0; from < practices.length; from += STORED_PER_SLICE) {
    const slice = practices.slice(from, from + STORED_PER_SLICE)
    parts.push(slice.map(({ id, name, fhirBase }) => JSON.stringify({ id, name, fhirBase })).join(','))
    yield
  }
  return `[${parts.join(',')}]`
}

/** Whether an entry of a stored copy (which may predate this version, or be damaged) is a practice. */
export function isStoredPractice (value: unknown): value is StoredPractice {
  const record = value as Record<string, unknown> | null
  return typeof record?.id === 'string' && typeof record.name === 'string' && typeof record.fhirBase === 'string'
}
