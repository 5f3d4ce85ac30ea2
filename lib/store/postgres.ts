import { randomInt } from 'node:crypto'
import pg from 'pg'
import { migrate } from './postgres-migrations.js'
import { CONNECTION_SUMMARY_COLUMNS, statusCounts, type ConnectionRow, type ConnectionSummary, type Store } from './types.js'
import { postgresWebhookOutbox } from './postgres-webhooks.js'
import { openPostgresSyncStore } from './sync-postgres.js'

// Named as ConnectionRow names them, so a selected row is a ConnectionRow as it comes.
const CONNECTION_COLUMNS = `id, practice_id AS "practiceId", fhir_base AS "fhirBase", patient_id AS "patientId", scope, status,
  key_hash AS "keyHash", tokens, token_version AS "tokenVersion", access_expires_at AS "accessExpiresAt", refreshable,
  last_refresh_at AS "lastRefreshAt", last_error AS "lastError", created_at AS "createdAt", updated_at AS "updatedAt"`

/**
 * pg returns BIGINT as a string because it may exceed 2^53. Ours are epoch milliseconds, far
 * below that, so this pool (and only this pool: pg's global parsers stay untouched) reads them
 * as numbers.
 */
const epochMillisAsNumbers: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)
}

/** Advisory-lock namespace (the first key) of lease holders' session locks: "rl", refresh lease. */
export const LEASE_HOLDER_LOCK_NAMESPACE = 0x726c

/**
 * This instance's proof of life: a session-level advisory lock held on a connection of its own.
 * The server drops the lock when that session ends, which it does when the process dies (its
 * socket closes), so a lease naming this lock's key is void the moment its holder is gone. If the
 * session is lost while the process lives (a database restart), a new one with a new key is
 * opened on the next lease.
 */
class LeaseHolderSession {
  #client: pg.Client | null = null
  #key: Promise<number | null> | null = null
  #closed = false

  constructor (private readonly url: string) {}

  /** The lock key leases are written with; null while no session can be had (others may then take them over). */
  async key (): Promise<number | null> {
    if (this.#closed) return null
    this.#key ??= this.open()
    return await this.#key
  }

  private async open (): Promise<number | null> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 10_000 })
    const lost = () => {
      if (this.#client === client) this.#client = null
      this.#key = null
    }
    client.on('error', lost)
    client.on('end', lost)
    try {
      await client.connect()
      for (;;) {
        const key = randomInt(1, 2 ** 31 - 1)
        const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS held', [LEASE_HOLDER_LOCK_NAMESPACE, key])
        if (rows[0].held) {
          this.#client = client
          return key
        }
      }
    } catch {
      lost()
      await client.end().catch(() => {})
      return null
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    const client = this.#client
    this.#client = null
    await client?.end().catch(() => {})
  }
}

/** PostgreSQL through a pg pool, for several gateway instances sharing one vault. */
export async function openPostgresStore (url: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, types: epochMillisAsNumbers, connectionTimeoutMillis: 10_000 })
  // An idle pooled connection that the server drops (restart, failover) emits 'error' on the pool,
  // which would crash the process if unhandled. The pool discards that connection; the next query
  // opens a new one, and a server that stays away shows up in ping() and thus in readiness.
  pool.on('error', () => {})
  try {
    await migrate(pool)
  } catch (err) {
    await pool.end()
    throw err
  }

  const holder = new LeaseHolderSession(url)

  /** Runs one statement and tells whether it touched exactly one row. */
  const changedOne = async (
    sql: string,
    values: unknown[]
  ): Promise<boolean> => (await pool.query(sql, values)).rowCount === 1

  return {
    kind: 'postgres',
    connections: {
      insert: async (row) => {
        await pool.query(`INSERT INTO connections (id, practice_id, fhir_base, patient_id, scope, status, key_hash, tokens, token_version,
            access_expires_at, refreshable, created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, 'active', NULL, $6, 1, $7, $8, $9, $9)`,
        [
          row.id,
          row.practiceId,
          row.fhirBase,
          row.patientId,
          row.scope,
          row.tokens,
          row.accessExpiresAt,
          row.refreshable,
          row.createdAt
        ])
      },
      get: async (id) => {
        const { rows } = await pool.query<ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM connections WHERE id = $1`, [id])
        return rows[0] ?? null
      },
      setKeyHash: async (id, keyHash) => {
        await pool.query('UPDATE connections SET key_hash = $2, updated_at = $3 WHERE id = $1', [id, keyHash, Date.now()])
      },
      // Under READ COMMITTED a concurrent writer of the same row waits for the first to commit,
      // then re-checks token_version against the new row and matches nothing: a real compare-and-set.
      saveTokens: async (id, expectedVersion, u) => await changedOne(`UPDATE connections
          SET tokens = $3, token_version = token_version + 1, access_expires_at = $4, refreshable = $5, scope = COALESCE($6, scope),
              status = 'active', last_refresh_at = $7, last_error = NULL, updated_at = $7
          WHERE id = $1 AND token_version = $2`,
      [id, expectedVersion, u.tokens, u.accessExpiresAt, u.refreshable, u.scope ?? null, u.at]),
      setStatus: async (id, status, lastError, at) => {
        await pool.query('UPDATE connections SET status = $2, last_error = $3, updated_at = $4 WHERE id = $1', [id, status, lastError, at])
      },
      recordError: async (id, lastError, at) => {
        await pool.query('UPDATE connections SET last_error = $2, updated_at = $3 WHERE id = $1', [id, lastError, at])
      },
      delete: async (id) => await changedOne('DELETE FROM connections WHERE id = $1', [id]),
      listStale: async (before, limit) => {
        const { rows } = await pool.query<{ id: string }>(`SELECT id FROM connections
          WHERE status = 'active' AND refreshable AND COALESCE(last_refresh_at, created_at) < $1
          ORDER BY COALESCE(last_refresh_at, created_at) LIMIT $2`, [before, limit])
        return rows.map((r) => r.id)
      },
      listNewestFirst: async (after, limit) => {
        const { rows } = after
          ? await pool.query<ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM connections WHERE (created_at, id) < ($1, $2)
              ORDER BY created_at DESC, id DESC LIMIT $3`, [after.createdAt, after.id, limit])
          : await pool.query<ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM connections ORDER BY created_at DESC, id DESC LIMIT $1`, [limit])
        return rows
      },
      count: async () => Number((await pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM connections')).rows[0]!.n),
      allTokens: async () => (await pool.query<{ id: string, tokens: string }>('SELECT id, tokens FROM connections')).rows,
      // One statement, so a re-encryption is applied to every row or to none.
      replaceTokens: async (rows) => {
        await pool.query(`UPDATE connections SET tokens = replacement.tokens
          FROM unnest($1::text[], $2::text[]) AS replacement (id, tokens) WHERE connections.id = replacement.id`,
        [rows.map((r) => r.id), rows.map((r) => r.tokens)])
      },
      list: async () => (await pool.query<ConnectionSummary>(`SELECT ${CONNECTION_SUMMARY_COLUMNS} FROM connections ORDER BY created_at, id`)).rows,
      countByStatus: async () => statusCounts((await pool.query<{ status: ConnectionRow['status'], count: number }>(
        'SELECT status, COUNT(*)::int AS count FROM connections GROUP BY status')).rows)
    },
    handoffs: {
      create: async (codeHash, connectionId, expiresAt) => {
        await pool.query('INSERT INTO handoffs (code_hash, connection_id, expires_at) VALUES ($1, $2, $3)', [codeHash, connectionId, expiresAt])
      },
      // The DELETE takes the row, so of several concurrent callers exactly one sees it. An expired
      // code is deleted too: it could never be used again anyway.
      consume: async (codeHash, now) => {
        const { rows } = await pool.query<{ connection_id: string }>(`WITH taken AS (DELETE FROM handoffs WHERE code_hash = $1 RETURNING *)
          SELECT connection_id FROM taken WHERE expires_at >= $2`, [codeHash, now])
        return rows.length === 1 ? rows[0].connection_id : null
      }
    },
    pendingAuthorizations: {
      create: async (stateHash, p) => {
        await pool.query('INSERT INTO pending_authorizations (state_hash, practice_id, return_to, expires_at) VALUES ($1, $2, $3, $4)',
          [stateHash, p.practiceId, p.returnTo, p.expiresAt])
      },
      consume: async (stateHash, now) => {
        const { rows } = await pool.query<{ practice_id: string, return_to: string | null, expires_at: number }>(`WITH taken AS
            (DELETE FROM pending_authorizations WHERE state_hash = $1 RETURNING *)
          SELECT practice_id, return_to, expires_at FROM taken WHERE expires_at >= $2`, [stateHash, now])
        return rows.length === 1
          ? {
              practiceId: rows[0].practice_id,
              returnTo: rows[0].return_to,
              expiresAt: rows[0].expires_at
            }
          : null
      }
    },
    refreshLeases: {
      // A lease is taken when nobody holds it, when it has run out, when the caller already holds
      // it, or when its holder's session lock is gone (a crashed instance: at once, not after
      // expiry). Concurrent inserts of the same key are serialised by the primary key: the loser
      // waits, then evaluates the WHERE against the winner's row and changes nothing.
      acquire: async (id, owner, now, ttlMs) => await changedOne(`INSERT INTO refresh_leases (connection_id, owner, expires_at, holder_lock)
          VALUES ($1, $2, $3, $5)
          ON CONFLICT (connection_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, holder_lock = excluded.holder_lock
          WHERE refresh_leases.expires_at < $4 OR refresh_leases.owner = excluded.owner OR refresh_leases.holder_lock IS NULL
            OR NOT EXISTS (SELECT 1 FROM pg_locks AS l WHERE l.locktype = 'advisory' AND l.granted
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = $6::integer::oid AND l.objid = refresh_leases.holder_lock::oid AND l.objsubid = 2)`,
      [id, owner, now + ttlMs, now, await holder.key(), LEASE_HOLDER_LOCK_NAMESPACE]),
      release: async (id, owner) => {
        await pool.query('DELETE FROM refresh_leases WHERE connection_id = $1 AND owner = $2', [id, owner])
      }
    },
    directory: {
      loadSnapshot: async () => {
        const { rows } = await pool.query<{ fetched_at: string, source: string, practices: unknown[] }>(
          'SELECT fetched_at, source, practices FROM directory_snapshot WHERE id = 1')
        return rows.length === 1
          ? {
              fetchedAt: rows[0].fetched_at,
              source: rows[0].source,
              practices: rows[0].practices
            }
          : null
      },
      saveSnapshot: async (s) => {
        await pool.query(`INSERT INTO directory_snapshot (id, fetched_at, source, practices) VALUES (1, $1, $2, $3)
          ON CONFLICT (id) DO UPDATE SET fetched_at = excluded.fetched_at, source = excluded.source, practices = excluded.practices`,
        [s.fetchedAt, s.source, s.practicesJson])
      }
    },
    webhooks: postgresWebhookOutbox(pool),
    sync: openPostgresSyncStore(pool),
    sweep: async (now) => {
      await pool.query(`WITH expired_handoffs AS (DELETE FROM handoffs WHERE expires_at < $1),
          expired_states AS (DELETE FROM pending_authorizations WHERE expires_at < $1)
        DELETE FROM refresh_leases WHERE expires_at < $1`, [now])
    },
    ping: async () => { await pool.query('SELECT 1') },
    close: async () => {
      await holder.close()
      await pool.end()
    }
  }
}
