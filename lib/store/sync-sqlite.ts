import type Database from 'libsql'
import { syncTables } from './sync-schema.js'
import type { ExistingRecord, RecordChange, StoredRecordRow, SyncRunRow, SyncStore } from './sync-types.js'

/** The sync's tables (a migration of this store). */
export const SQLITE_SYNC_MIGRATION = syncTables({ bigint: 'INTEGER', boolean: 'INTEGER', no: '0' })

interface ExistingRow { version: string | null, body: string | null, deleted: number }

interface RunRecord {
  id: string,
  connection_id: string,
  status: SyncRunRow['status'],
  resumable: number,
  started_at: number
  finished_at: number | null,
  progress: string,
  error: string | null
}

const toRun = (r: RunRecord): SyncRunRow => ({
  id: r.id,
  connectionId: r.connection_id,
  status: r.status,
  resumable: r.resumable === 1,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  progress: r.progress,
  error: r.error
})

/** The sync's store on SQLite: one writer at a time, so a transaction is already the connection's lock. */
export function openSqliteSyncStore (db: Database.Database): SyncStore {
  const q = {
    existing: db.prepare('SELECT id_digest, version, body, deleted FROM sync_records WHERE connection_id = ? AND id_digest = ?'),
    allocate: db.prepare(`INSERT INTO sync_sequences (connection_id, last_seq) VALUES (?, ?)
      ON CONFLICT (connection_id) DO UPDATE SET last_seq = last_seq + excluded.last_seq RETURNING last_seq`),
    upsert: db.prepare(`INSERT INTO sync_records (connection_id, id_digest, resource_type, ref, version, body, deleted, seq, seen_run)
      VALUES (@connectionId, @idDigest, @type, @ref, @version, @body, 0, @seq, @runId)
      ON CONFLICT (connection_id, id_digest) DO UPDATE SET ref = excluded.ref, version = excluded.version, body = excluded.body,
        deleted = 0, seq = excluded.seq, seen_run = excluded.seen_run`),
    seen: db.prepare('UPDATE sync_records SET seen_run = ? WHERE connection_id = ? AND id_digest = ?'),
    checkpoint: db.prepare(`INSERT INTO sync_checkpoints (run_id, step, state) VALUES (?, ?, ?)
      ON CONFLICT (run_id, step) DO UPDATE SET state = excluded.state`),
    progress: db.prepare('UPDATE sync_runs SET progress = ? WHERE id = ?'),
    seenInRun: db.prepare(`SELECT seq, resource_type AS type, ref, body FROM sync_records
      WHERE connection_id = ? AND seen_run = ? AND deleted = 0 AND seq > ? ORDER BY seq LIMIT ?`),
    unseen: db.prepare(`SELECT id_digest FROM sync_records WHERE connection_id = ? AND seen_run != ? AND deleted = 0
      AND resource_type IN (SELECT value FROM json_each(?))`),
    markDeleted: db.prepare('UPDATE sync_records SET deleted = 1, body = NULL, version = NULL, seq = ? WHERE connection_id = ? AND id_digest = ?'),
    changes: db.prepare(`SELECT seq, resource_type AS type, ref, body FROM sync_records
      WHERE connection_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
    changesOfType: db.prepare(`SELECT seq, resource_type AS type, ref, body FROM sync_records
      WHERE connection_id = ? AND seq > ? AND resource_type = ? ORDER BY seq LIMIT ?`),
    allRecords: db.prepare('SELECT connection_id AS connectionId, resource_type AS type, id_digest AS idDigest, ref, body FROM sync_records'),
    replaceRecord: db.prepare('UPDATE sync_records SET id_digest = ?, ref = ?, body = ? WHERE connection_id = ? AND id_digest = ?'),
    createRun: db.prepare(`INSERT INTO sync_runs (id, connection_id, status, resumable, started_at, progress)
      VALUES (?, ?, 'running', 0, ?, ?)`),
    latestRun: db.prepare('SELECT * FROM sync_runs WHERE connection_id = ? ORDER BY started_at DESC, rowid DESC LIMIT 1'),
    updateRun: db.prepare('UPDATE sync_runs SET status = ?, progress = ?, finished_at = ?, error = ?, resumable = ? WHERE id = ?'),
    checkpoints: db.prepare('SELECT step, state FROM sync_checkpoints WHERE run_id = ?'),
    acquireLease: db.prepare(`INSERT INTO sync_leases (connection_id, owner, expires_at) VALUES (@id, @owner, @expiresAt)
      ON CONFLICT (connection_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
      WHERE sync_leases.expires_at < @now OR sync_leases.owner = excluded.owner`),
    releaseLease: db.prepare('DELETE FROM sync_leases WHERE connection_id = ? AND owner = ?'),
    nextAt: db.prepare('SELECT next_at FROM sync_schedules WHERE connection_id = ?'),
    setNextAt: db.prepare(`INSERT INTO sync_schedules (connection_id, next_at) VALUES (?, ?)
      ON CONFLICT (connection_id) DO UPDATE SET next_at = excluded.next_at`),
    due: db.prepare(`SELECT c.id FROM connections c LEFT JOIN sync_schedules s ON s.connection_id = c.id
      WHERE c.status = 'active' AND ((@scheduled = 1 AND COALESCE(s.next_at, 0) <= @now) OR EXISTS (SELECT 1 FROM sync_runs r
        WHERE r.id = (SELECT id FROM sync_runs WHERE connection_id = c.id ORDER BY started_at DESC, rowid DESC LIMIT 1)
        AND r.status = 'running'))
      ORDER BY COALESCE(s.next_at, 0) LIMIT @limit`)
  }
  const allocate = (connectionId: string, count: number): number =>
    (q.allocate.get(connectionId, count) as { last_seq: number }).last_seq - count

  const writePage = db.transaction((connectionId: string, runId: string, page: Parameters<SyncStore['writePage']>[2]) => {
    if (page.changed.length > 0) {
      let seq = allocate(connectionId, page.changed.length)
      for (const record of page.changed) q.upsert.run({ connectionId, runId, ...record, seq: ++seq })
    }
    for (const { idDigest } of page.seen) q.seen.run(runId, connectionId, idDigest)
    if (page.checkpoint) q.checkpoint.run(runId, page.checkpoint.step, page.checkpoint.state)
    if (page.progress !== undefined) q.progress.run(page.progress, runId)
  })
  const deleteUnseen = db.transaction((connectionId: string, runId: string, types: string[]): number => {
    const unseen = q.unseen.all(connectionId, runId, JSON.stringify(types)) as Array<{ id_digest: string }>
    const digests = unseen.map((r) => r.id_digest)
    if (digests.length === 0) return 0
    let seq = allocate(connectionId, digests.length)
    for (const digest of digests) q.markDeleted.run(++seq, connectionId, digest)
    return digests.length
  })
  const replaceRecords = db.transaction((rows: Parameters<SyncStore['replaceRecords']>[0]) => {
    for (const r of rows) q.replaceRecord.run(r.newIdDigest, r.ref, r.body, r.connectionId, r.idDigest)
  })

  return {
    existing: async (connectionId, idDigests) => {
      const found = new Map<string, ExistingRecord>()
      for (const digest of idDigests) {
        const r = q.existing.get(connectionId, digest) as ExistingRow | undefined
        if (r) found.set(digest, { version: r.version, body: r.body, deleted: r.deleted === 1 })
      }
      return found
    },
    writePage: async (connectionId, runId, page) => { writePage.immediate(connectionId, runId, page) },
    seenInRun: async (connectionId, runId, afterSeq, limit) =>
      q.seenInRun.all(connectionId, runId, afterSeq, limit) as RecordChange[],
    deleteUnseen: async (connectionId, runId, types) => deleteUnseen.immediate(connectionId, runId, types),
    changes: async (connectionId, since, limit, type) => (type === undefined
      ? q.changes.all(connectionId, since, limit)
      : q.changesOfType.all(connectionId, since, type, limit)) as RecordChange[],
    allRecords: async () => q.allRecords.all() as StoredRecordRow[],
    replaceRecords: async (rows) => { replaceRecords.immediate(rows) },
    createRun: async (run) => { q.createRun.run(run.id, run.connectionId, run.startedAt, run.progress) },
    latestRun: async (connectionId) => {
      const r = q.latestRun.get(connectionId) as RunRecord | undefined
      return r ? toRun(r) : null
    },
    updateRun: async (id, u) => {
      q.updateRun.run(u.status, u.progress, u.finishedAt, u.error, u.resumable ? 1 : 0, id)
    },
    checkpoints: async (runId) =>
      new Map((q.checkpoints.all(runId) as Array<{ step: string, state: string }>).map((r) => [r.step, r.state])),
    acquireLease: async (id, owner, now, ttlMs) =>
      q.acquireLease.run({ id, owner, now, expiresAt: now + ttlMs }).changes === 1,
    releaseLease: async (id, owner) => { q.releaseLease.run(id, owner) },
    nextAt: async (connectionId) => (q.nextAt.get(connectionId) as { next_at: number } | undefined)?.next_at ?? null,
    setNextAt: async (connectionId, at) => { q.setNextAt.run(connectionId, at) },
    due: async (now, limit, scheduled) =>
      (q.due.all({ now, limit, scheduled: scheduled ? 1 : 0 }) as Array<{ id: string }>).map((r) => r.id)
  }
}
