import type pg from 'pg'
import { POSTGRES_WEBHOOK_MIGRATION } from './postgres-webhooks.js'
import { POSTGRES_SYNC_MIGRATION } from './sync-postgres.js'

// Versioned migrations: append only, never edit a released one. Times are epoch milliseconds
// in BIGINT (the store parses them back to numbers), as in the SQLite schema.
export const MIGRATIONS: string[] = [
  `CREATE TABLE connections (
     id TEXT PRIMARY KEY,
     practice_id TEXT NOT NULL,
     fhir_base TEXT NOT NULL,
     patient_id TEXT NOT NULL,
     scope TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('active', 'reauth_required')),
     key_hash TEXT,
     tokens TEXT NOT NULL,
     token_version INTEGER NOT NULL DEFAULT 1,
     access_expires_at BIGINT NOT NULL,
     refreshable BOOLEAN NOT NULL,
     last_refresh_at BIGINT,
     last_error TEXT,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE handoffs (
     code_hash TEXT PRIMARY KEY,
     connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX handoffs_connection_id ON handoffs (connection_id);
   CREATE TABLE pending_authorizations (
     state_hash TEXT PRIMARY KEY,
     practice_id TEXT NOT NULL,
     return_to TEXT,
     expires_at BIGINT NOT NULL
   );
   CREATE TABLE refresh_leases (
     connection_id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     expires_at BIGINT NOT NULL
   );
   CREATE TABLE directory_snapshot (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     fetched_at TEXT NOT NULL,
     source TEXT NOT NULL,
     practices JSON NOT NULL
   );`,
  // Healow's per-practice rate limit, shared by every instance (plugins/request-budget/postgres.ts).
  `CREATE TABLE request_budgets (
     practice_id TEXT PRIMARY KEY,
     -- send times granted within the last window (some may lie a little in the future), ascending
     sent BIGINT[] NOT NULL DEFAULT '{}',
     blocked_until BIGINT NOT NULL DEFAULT 0
   );`,
  // The advisory lock that a lease's holder keeps on its own session (lib/store/postgres.ts):
  // when the holder dies, the server drops the lock and the lease is void at once.
  'ALTER TABLE refresh_leases ADD COLUMN holder_lock INTEGER',
  POSTGRES_WEBHOOK_MIGRATION,
  // The sync's records, runs, checkpoints, leases and schedule (lib/store/sync-postgres.ts).
  POSTGRES_SYNC_MIGRATION
]

/**
 * Key of the advisory lock that serialises migrations. Any fixed number works; this one spells
 * "healow" in ASCII so it is recognisable in pg_locks.
 */
export const MIGRATION_LOCK_KEY = 0x6865616c6f77

/**
 * Applies the migrations not yet recorded in schema_migrations, all in one transaction.
 * Several instances may start at once: the transaction-scoped advisory lock makes the others
 * wait until the first has committed, after which they find nothing left to do. The lock is
 * released by COMMIT or ROLLBACK, or by the server if this process dies mid-way.
 */
export async function migrate (pool: pg.Pool, migrations: readonly string[] = MIGRATIONS): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)')
    const { rows } = await client.query<{ version: number }>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations')
    const applied = rows[0].version
    for (const [index, sql] of migrations.entries()) {
      const version = index + 1
      if (version <= applied) continue
      await client.query(sql)
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()])
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}
