import type { Store } from '../store/types.js'
import type { RecordSealer } from './sealing.js'

export interface ChangesPage {
  resources: Array<{ resourceType: string, id: string, [field: string]: unknown }>
  deleted: Array<{ resourceType: string, id: string }>
  cursor: string
  more: boolean
}

/**
 * What changed in a connection's records after cursor `since`, in change order: the resources
 * opened, the deletions as references. The cursor is the last change number returned; change
 * numbers commit in order, so asking again from it never skips or repeats a change.
 */
export async function readChanges (store: Store, sealer: RecordSealer, connectionId: string,
  { since = 0, limit, type }: { since?: number, limit: number, type?: string }): Promise<ChangesPage> {
  const rows = await store.sync.changes(connectionId, since, limit + 1, type)
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : rows
  const resources: ChangesPage['resources'] = []
  const deleted: ChangesPage['deleted'] = []
  for (const row of page) {
    const ref = sealer.openRef(connectionId, row.ref)
    if (row.body === null) deleted.push(ref)
    else resources.push(JSON.parse(sealer.openBody(connectionId, ref, row.body)) as ChangesPage['resources'][number])
  }
  return { resources, deleted, cursor: String(page.length > 0 ? page[page.length - 1].seq : since), more }
}
