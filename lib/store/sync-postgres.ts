import type pg from 'pg'
import { syncTables } from './sync-schema.js'
import type { ExistingRecord, PageWrite, RecordChange, StoredRecordRow, SyncRunRow, SyncStore } from './sync-types.js'

/** The sync's tables (a migration of this store). */
export const POSTGRES_SYNC_MIGRATION = syncTables({ bigint: 'BIGINT', boolean: 'BOOLEAN', no: 'false' })

const RUN_COLUMNS = 'id, connection_id AS "connectionId", status, resumable, started_at AS "startedAt", finished_at AS "finishedAt", progress, error'
const CHANGE_COLUMNS = 'seq, resource_type AS type, ref, body'

/**
 * Allocates `count` change numbers for a connection and answers the first one's predecessor. The
 * upsert locks the connection's sequence row until the transaction ends: a second writer waits,
 * so change numbers commit in the order they were given out.
 */
const ALLOCATE = `INSERT INTO sync_sequences (connection_id, last_seq) VALUES ($1, $2)
  ON CONFLICT (connection_id) DO UPDATE SET last_seq = sync_sequences.last_seq + excluded.last_seq RETURNING last_seq`

async function inTransaction<T> (pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/** The named fields of `rows` as one array per field, for unnest(). */
function columns<T> (rows: readonly T[], fields: ReadonlyArray<keyof T>): unknown[][] {
  return fields.map((field) => rows.map((row) => row[field]))
}

async function allocate (client: pg.PoolClient, connectionId: string, count: number): Promise<number> {
  const { rows } = await client.query<{ last_seq: number }>(ALLOCATE, [connectionId, count])
  return Number(rows[0].last_seq) - count
}

export function openPostgresSyncStore (pool: pg.Pool): SyncStore {
  const writePage = async (client: pg.PoolClient, connectionId: string, runId: string, page: PageWrite) => {
    if (page.changed.length > 0) {
      const first = await allocate(client, connectionId, page.changed.length)
      const c = page.changed
      await client.query(`INSERT INTO sync_records (connection_id, id_digest, resource_type, ref, version, body, deleted, seq, seen_run)
        SELECT $1, d, t, r, v, b, false, $2 + n, $3
        FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS u (d, t, r, v, b, n)
        ON CONFLICT (connection_id, id_digest) DO UPDATE SET ref = excluded.ref, version = excluded.version, body = excluded.body,
          deleted = false, seq = excluded.seq, seen_run = excluded.seen_run`,
      [connectionId, first, runId, ...columns(c, ['idDigest', 'type', 'ref', 'version', 'body'])])
    }
    if (page.seen.length > 0) {
      await client.query('UPDATE sync_records SET seen_run = $1 WHERE connection_id = $2 AND id_digest = ANY($3::text[])',
        [runId, connectionId, page.seen.map((s) => s.idDigest)])
    }
    if (page.checkpoint) {
      await client.query(`INSERT INTO sync_checkpoints (run_id, step, state) VALUES ($1, $2, $3)
        ON CONFLICT (run_id, step) DO UPDATE SET state = excluded.state`, [runId, page.checkpoint.step, page.checkpoint.state])
    }
    if (page.progress !== undefined) await client.query('UPDATE sync_runs SET progress = $1 WHERE id = $2', [page.progress, runId])
  }

  return {
    existing: async (connectionId, idDigests) => {
      const { rows } = await pool.query<{ id_digest: string } & ExistingRecord>(
        'SELECT id_digest, version, body, deleted FROM sync_records WHERE connection_id = $1 AND id_digest = ANY($2::text[])', [connectionId, idDigests])
      return new Map(rows.map((r) => [r.id_digest, { version: r.version, body: r.body, deleted: r.deleted }]))
    },
    writePage: async (connectionId, runId, page) => {
      await inTransaction(pool, async (client) => { await writePage(client, connectionId, runId, page) })
    },
    seenInRun: async (connectionId, runId, afterSeq, limit) => (await pool.query<RecordChange>(`SELECT ${CHANGE_COLUMNS} FROM sync_records
      WHERE connection_id = $1 AND seen_run = $2 AND NOT deleted AND seq > $3 ORDER BY seq LIMIT $4`, [connectionId, runId, afterSeq, limit])).rows,
    deleteUnseen: async (connectionId, runId, types) => await inTransaction(pool, async (client) => {
      // Lock the sequence first, then choose the rows: the numbers and the rows belong to one writer.
      const { rows: locked } = await client.query<{ last_seq: number }>('SELECT last_seq FROM sync_sequences WHERE connection_id = $1 FOR UPDATE', [connectionId])
      if (locked.length === 0) return 0
      const { rows } = await client.query<{ id_digest: string }>(`SELECT id_digest FROM sync_records
        WHERE connection_id = $1 AND seen_run != $2 AND NOT deleted AND resource_type = ANY($3::text[]) ORDER BY seq`, [connectionId, runId, types])
      if (rows.length === 0) return 0
      const first = await allocate(client, connectionId, rows.length)
      await client.query(`UPDATE sync_records SET deleted = true, body = NULL, version = NULL, seq = $2 + u.n
        FROM unnest($3::text[]) WITH ORDINALITY AS u (d, n) WHERE connection_id = $1 AND id_digest = u.d`,
      [connectionId, first, rows.map((r) => r.id_digest)])
      return rows.length
    }),
    changes: async (connectionId, since, limit, type) => (type === undefined
      ? await pool.query<RecordChange>(`SELECT ${CHANGE_COLUMNS} FROM sync_records WHERE connection_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [connectionId, since, limit])
      : await pool.query<RecordChange>(`SELECT ${CHANGE_COLUMNS} FROM sync_records WHERE connection_id = $1 AND seq > $2 AND resource_type = $3
          ORDER BY seq LIMIT $4`, [connectionId, since, type, limit])).rows,
    allRecords: async () => (await pool.query<StoredRecordRow>(
      'SELECT connection_id AS "connectionId", resource_type AS type, id_digest AS "idDigest", ref, body FROM sync_records')).rows,
    // One statement: every record is re-sealed, or none.
    replaceRecords: async (rows) => {
      await pool.query(`UPDATE sync_records SET id_digest = u.nd, ref = u.r, body = u.b
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u (c, d, nd, r, b)
        WHERE connection_id = u.c AND id_digest = u.d`,
      columns(rows, ['connectionId', 'idDigest', 'newIdDigest', 'ref', 'body']))
    },
    createRun: async (run) => {
      await pool.query('INSERT INTO sync_runs (id, connection_id, status, resumable, started_at, progress) VALUES ($1, $2, \'running\', false, $3, $4)',
        [run.id, run.connectionId, run.startedAt, run.progress])
    },
    latestRun: async (connectionId) => (await pool.query<SyncRunRow>(`SELECT ${RUN_COLUMNS} FROM sync_runs WHERE connection_id = $1
      ORDER BY started_at DESC, id DESC LIMIT 1`, [connectionId])).rows[0] ?? null,
    updateRun: async (id, u) => {
      await pool.query('UPDATE sync_runs SET status = $2, progress = $3, finished_at = $4, error = $5, resumable = $6 WHERE id = $1',
        [id, u.status, u.progress, u.finishedAt, u.error, u.resumable])
    },
    checkpoints: async (runId) => new Map((await pool.query<{ step: string, state: string }>(
      'SELECT step, state FROM sync_checkpoints WHERE run_id = $1', [runId])).rows.map((r) => [r.step, r.state])),
    acquireLease: async (id, owner, now, ttlMs) => (await pool.query(`INSERT INTO sync_leases (connection_id, owner, expires_at) VALUES ($1, $2, $3)
      ON CONFLICT (connection_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
      WHERE sync_leases.expires_at < $4 OR sync_leases.owner = excluded.owner`, [id, owner, now + ttlMs, now])).rowCount === 1,
    releaseLease: async (id, owner) => { await pool.query('DELETE FROM sync_leases WHERE connection_id = $1 AND owner = $2', [id, owner]) },
    nextAt: async (connectionId) => (await pool.query<{ next_at: number }>('SELECT next_at FROM sync_schedules WHERE connection_id = $1', [connectionId])).rows[0]?.next_at ?? null,
    setNextAt: async (connectionId, at) => {
      await pool.query(`INSERT INTO sync_schedules (connection_id, next_at) VALUES ($1, $2)
        ON CONFLICT (connection_id) DO UPDATE SET next_at = excluded.next_at`, [connectionId, at])
    },
    due: async (now, limit, scheduled) => (await pool.query<{ id: string }>(`SELECT c.id FROM connections c LEFT JOIN sync_schedules s ON s.connection_id = c.id
      LEFT JOIN LATERAL (SELECT status FROM sync_runs WHERE connection_id = c.id ORDER BY started_at DESC, id DESC LIMIT 1) r ON true
      WHERE c.status = 'active' AND (($3 AND COALESCE(s.next_at, 0) <= $1) OR r.status = 'running')
      ORDER BY COALESCE(s.next_at, 0) LIMIT $2`, [now, limit, scheduled])).rows.map((r) => r.id)
  }
}
