import type { TokenCipher } from '../tokens/cipher.js'
import type { Store } from '../store/types.js'
import type { SealedRecord } from '../store/sync-types.js'

export interface FhirResource {
  resourceType: string
  id: string
  meta?: { versionId?: unknown }
  [field: string]: unknown
}

/**
 * How a synced resource is kept: its JSON sealed with the vault key and bound to
 * `record:{connectionId}:{type}:{id}` (a body copied onto another record or connection fails to
 * open), its `{type}/{id}` sealed too, and its row found by a keyed digest, so the database holds
 * no id, name or code in clear.
 */
export class RecordSealer {
  constructor (private readonly cipher: TokenCipher) {}

  digest (connectionId: string, type: string, id: string): string {
    return this.cipher.digest(`record:${connectionId}:${type}/${id}`)
  }

  seal (connectionId: string, resource: FhirResource, json = JSON.stringify(resource)): SealedRecord {
    const { resourceType: type, id } = resource
    const version = resource.meta?.versionId
    return {
      type,
      idDigest: this.digest(connectionId, type, id),
      ref: this.cipher.encrypt(`${type}/${id}`, `record-ref:${connectionId}`),
      version: typeof version === 'string' || typeof version === 'number' ? String(version) : null,
      body: this.cipher.encrypt(json, `record:${connectionId}:${type}:${id}`)
    }
  }

  /** `{ resourceType, id }` of a sealed reference. */
  openRef (connectionId: string, ref: string): { resourceType: string, id: string } {
    const text = this.cipher.decrypt(ref, `record-ref:${connectionId}`)
    const slash = text.indexOf('/')
    return { resourceType: text.slice(0, slash), id: text.slice(slash + 1) }
  }

  /** The resource's JSON text, as Healow sent it. */
  openBody (connectionId: string, ref: { resourceType: string, id: string }, body: string): string {
    return this.cipher.decrypt(body, `record:${connectionId}:${ref.resourceType}:${ref.id}`)
  }

  sealCheckpoint (runId: string, step: string, state: unknown): string {
    return this.cipher.encrypt(JSON.stringify(state), `sync-checkpoint:${runId}:${step}`)
  }

  openCheckpoint<T> (runId: string, step: string, sealed: string): T {
    return JSON.parse(this.cipher.decrypt(sealed, `sync-checkpoint:${runId}:${step}`)) as T
  }
}

/**
 * Re-seals every synced record under `next` (vault rekey): bodies and references re-encrypted,
 * digests recomputed (they are keyed too). Checkpoints of an unfinished run are not carried over:
 * that run starts its pages again, which stores nothing twice.
 */
export async function resealRecords (store: Store, current: TokenCipher, next: TokenCipher): Promise<number> {
  const from = new RecordSealer(current)
  const to = new RecordSealer(next)
  const rows = await store.sync.allRecords()
  const replaced = rows.map((row) => {
    const ref = from.openRef(row.connectionId, row.ref)
    const body = row.body === null ? null : from.openBody(row.connectionId, ref, row.body)
    return {
      connectionId: row.connectionId,
      type: row.type,
      idDigest: row.idDigest,
      newIdDigest: to.digest(row.connectionId, ref.resourceType, ref.id),
      ref: next.encrypt(`${ref.resourceType}/${ref.id}`, `record-ref:${row.connectionId}`),
      body: body === null ? null : next.encrypt(body, `record:${row.connectionId}:${ref.resourceType}:${ref.id}`)
    }
  })
  if (replaced.length > 0) await store.sync.replaceRecords(replaced)
  return replaced.length
}
