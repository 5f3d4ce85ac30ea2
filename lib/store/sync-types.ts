/**
 * What the sync keeps: each resource sealed by the vault (body and reference both ciphertext, the
 * id only as a keyed digest), a per-connection change sequence for incremental pulls, the runs
 * with their progress, sealed checkpoints, a lease per connection and the schedule.
 */

export type SyncRunStatus = 'running' | 'succeeded' | 'failed'

/** One resource as the store holds it: nothing in it is readable without the vault key. */
export interface SealedRecord {
  type: string
  /** Keyed digest of `{type}/{id}`: finds the row without storing the id. */
  idDigest: string
  /** Ciphertext of `{type}/{id}`, so a change can be reported without the body. */
  ref: string
  /** meta.versionId as Healow gave it (or null): compared, never shown. */
  version: string | null
  /** Ciphertext of the resource's JSON. */
  body: string
}

export interface ExistingRecord { version: string | null, body: string | null, deleted: boolean }

export interface RecordChange {
  seq: number
  type: string
  ref: string
  /** null: deleted upstream. */
  body: string | null
}

export interface SyncRunRow {
  id: string
  connectionId: string
  status: SyncRunStatus
  /** A failed run that stopped on a Healow outage (not a refusal): the next sync continues it. */
  resumable: boolean
  startedAt: number
  finishedAt: number | null
  /** JSON of the run's progress (counts and type names only). */
  progress: string
  error: string | null
}

export interface StoredRecordRow {
  connectionId: string
  type: string
  idDigest: string
  ref: string
  body: string | null
}

export interface RunUpdate {
  status: SyncRunStatus
  progress: string
  finishedAt: number | null
  error: string | null
  resumable: boolean
}

export interface PageWrite {
  /** New or changed resources: each gets the next change number. */
  changed: SealedRecord[]
  /** Resources fetched again unchanged: only marked as seen by this run. */
  seen: Array<{ type: string, idDigest: string }>
  /** The run's checkpoint for one step (sealed by the caller), committed with the page. */
  checkpoint?: { step: string, state: string }
  progress?: string
}

export interface SyncStore {
  existing (connectionId: string, idDigests: string[]): Promise<Map<string, ExistingRecord>>
  /**
   * One page in one transaction: change numbers are allocated under a lock on the connection's
   * sequence row and committed with the rows, so a reader's cursor never passes a change that
   * commits later; the checkpoint commits with them, so a resumed run neither loses nor repeats a page.
   */
  writePage (connectionId: string, runId: string, page: PageWrite): Promise<void>
  /** Records this run has seen (stored or re-confirmed), in change order after `afterSeq`. */
  seenInRun (connectionId: string, runId: string, afterSeq: number, limit: number): Promise<RecordChange[]>
  /** Marks deleted (with a new change number) the live records of `types` that run `runId` did not see. */
  deleteUnseen (connectionId: string, runId: string, types: string[]): Promise<number>
  changes (connectionId: string, since: number, limit: number, type?: string): Promise<RecordChange[]>
  /** Every record's sealed parts, for re-sealing under a new vault key. */
  allRecords (): Promise<StoredRecordRow[]>
  replaceRecords (rows: Array<StoredRecordRow & { newIdDigest: string }>): Promise<void>

  createRun (run: Pick<SyncRunRow, 'id' | 'connectionId' | 'startedAt' | 'progress'>): Promise<void>
  latestRun (connectionId: string): Promise<SyncRunRow | null>
  updateRun (id: string, update: RunUpdate): Promise<void>
  checkpoints (runId: string): Promise<Map<string, string>>

  acquireLease (connectionId: string, owner: string, now: number, ttlMs: number): Promise<boolean>
  releaseLease (connectionId: string, owner: string): Promise<void>

  nextAt (connectionId: string): Promise<number | null>
  setNextAt (connectionId: string, at: number): Promise<void>
  /**
   * Active connections whose latest run was left running (a crashed or stopped instance), and with
   * `scheduled`, those whose next sync is due (never synced counts as due).
   */
  due (now: number, limit: number, scheduled: boolean): Promise<string[]>
}
