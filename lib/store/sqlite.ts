import Database from 'libsql'
import { closeSync, openSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import { CONNECTION_SUMMARY_COLUMNS, statusCounts, type ConnectionRow, type ConnectionSummary, type Store } from './types.js'
import { SQLITE_WEBHOOK_MIGRATION, sqliteWebhookOutbox } from './sqlite-webhooks.js'
import { SQLITE_SYNC_MIGRATION, openSqliteSyncStore } from './sync-sqlite.js'
import { isLeaseHolderGone, THIS_PROCESS_HOLDER } from '../tokens/lease-holder.js'
import { DirectoryUnusableError, ensurePrivateDirectory, PRIVATE_FILE_MODE } from '../files/private-directory.js'

// Versioned migrations: append only, never edit a released one.
const MIGRATIONS: string[] = [
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
     access_expires_at INTEGER NOT NULL,
     refreshable INTEGER NOT NULL,
     last_refresh_at INTEGER,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE handoffs (
     code_hash TEXT PRIMARY KEY,
     connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
     expires_at INTEGER NOT NULL
   );
   CREATE TABLE pending_authorizations (
     state_hash TEXT PRIMARY KEY,
     practice_id TEXT NOT NULL,
     return_to TEXT,
     expires_at INTEGER NOT NULL
   );
   CREATE TABLE refresh_leases (
     connection_id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE TABLE directory_snapshot (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     fetched_at TEXT NOT NULL,
     source TEXT NOT NULL,
     practices TEXT NOT NULL
   );`,
  // The process holding a refresh lease (lib/tokens/lease-holder.ts): a dead holder's lease is void.
  "ALTER TABLE refresh_leases ADD COLUMN holder TEXT NOT NULL DEFAULT ''",
  SQLITE_WEBHOOK_MIGRATION,
  SQLITE_SYNC_MIGRATION
]

interface ConnectionRecord {
  id: string;
  practice_id: string;
  fhir_base: string;
  patient_id: string;
  scope: string;
  status: ConnectionRow['status']
  key_hash: string | null;
  tokens: string;
  token_version: number;
  access_expires_at: number;
  refreshable: number
  last_refresh_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number
}

function toConnection (r: ConnectionRecord): ConnectionRow {
  return {
    id: r.id,
    practiceId: r.practice_id,
    fhirBase: r.fhir_base,
    patientId: r.patient_id,
    scope: r.scope,
    status: r.status,
    keyHash: r.key_hash,
    tokens: r.tokens,
    tokenVersion: r.token_version,
    accessExpiresAt: r.access_expires_at,
    refreshable: r.refreshable === 1,
    lastRefreshAt: r.last_refresh_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }
}

function migrate (db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)')
  const applied = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v
  // IMMEDIATE: a second process opening the same file waits instead of migrating twice.
  db.transaction(() => {
    MIGRATIONS.forEach((sql, index) => {
      const version = index + 1
      if (version <= applied) return
      if (db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(version)) return
      db.exec(sql)
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now())
    })
  }).immediate()
}

// The directory's stored copy is written compressed, on the thread pool: 2.4 MB of JSON for 17,291
// practices held the event loop for 30-40 ms in SQLite's write, where its 0.4 MB compressed take 2-3.
const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)

/**
 * The database file is created 0600 in a directory created 0700: it holds sealed tokens and key
 * hashes, for the service's user only. SQLite gives its -wal and -shm files the database file's mode.
 */
function createPrivateFile (file: string, setting: string): void {
  ensurePrivateDirectory(path.dirname(path.resolve(file)), setting)
  try {
    closeSync(openSync(file, 'a', PRIVATE_FILE_MODE))
  } catch (err) {
    throw new DirectoryUnusableError(`${setting}: the database file ${file} cannot be created (${(err as NodeJS.ErrnoException).code})`)
  }
}

/**
 * SQLite through libsql (better-sqlite3's API): synchronous and fast; WAL so readers never wait for
 * the writer. libsql is a Node-API module shipped prebuilt, so one binary serves Node 20, 22 and 24
 * with no compiler at install time. Its rows carry an extra `_metadata` field: map columns by name.
 */
export function openSqliteStore (file: string, setting = 'DATABASE_URL'): Store {
  if (file !== ':memory:') createPrivateFile(file, setting)
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db)

  const q = {
    insert: db.prepare(`INSERT INTO connections (id, practice_id, fhir_base, patient_id, scope, status, key_hash, tokens, token_version,
      access_expires_at, refreshable, created_at, updated_at) VALUES (@id, @practiceId, @fhirBase, @patientId, @scope, 'active', NULL,
      @tokens, 1, @accessExpiresAt, @refreshable, @createdAt, @createdAt)`),
    get: db.prepare('SELECT * FROM connections WHERE id = ?'),
    setKeyHash: db.prepare('UPDATE connections SET key_hash = ?, updated_at = ? WHERE id = ?'),
    saveTokens: db.prepare(`UPDATE connections SET tokens = @tokens, token_version = token_version + 1, access_expires_at = @accessExpiresAt,
      refreshable = @refreshable, scope = COALESCE(@scope, scope), status = 'active', last_refresh_at = @at, last_error = NULL, updated_at = @at
      WHERE id = @id AND token_version = @expectedVersion`),
    setStatus: db.prepare('UPDATE connections SET status = ?, last_error = ?, updated_at = ? WHERE id = ?'),
    recordError: db.prepare('UPDATE connections SET last_error = ?, updated_at = ? WHERE id = ?'),
    delete: db.prepare('DELETE FROM connections WHERE id = ?'),
    listStale: db.prepare(`SELECT id FROM connections WHERE status = 'active' AND refreshable = 1
      AND COALESCE(last_refresh_at, created_at) < ? ORDER BY COALESCE(last_refresh_at, created_at) LIMIT ?`),
    listFirst: db.prepare('SELECT * FROM connections ORDER BY created_at DESC, id DESC LIMIT ?'),
    listAfter: db.prepare('SELECT * FROM connections WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?'),
    count: db.prepare('SELECT COUNT(*) AS n FROM connections'),
    allTokens: db.prepare('SELECT id, tokens FROM connections'),
    replaceTokens: db.prepare('UPDATE connections SET tokens = ? WHERE id = ?'),
    list: db.prepare(`SELECT ${CONNECTION_SUMMARY_COLUMNS} FROM connections ORDER BY created_at, id`),
    countByStatus: db.prepare('SELECT status, COUNT(*) AS count FROM connections GROUP BY status'),
    createHandoff: db.prepare('INSERT INTO handoffs (code_hash, connection_id, expires_at) VALUES (?, ?, ?)'),
    consumeHandoff: db.prepare('DELETE FROM handoffs WHERE code_hash = ? RETURNING connection_id, expires_at'),
    createPending: db.prepare('INSERT INTO pending_authorizations (state_hash, practice_id, return_to, expires_at) VALUES (?, ?, ?, ?)'),
    consumePending: db.prepare('DELETE FROM pending_authorizations WHERE state_hash = ? RETURNING practice_id, return_to, expires_at'),
    getLease: db.prepare('SELECT owner, holder, expires_at FROM refresh_leases WHERE connection_id = ?'),
    putLease: db.prepare(`INSERT INTO refresh_leases (connection_id, owner, holder, expires_at) VALUES (@id, @owner, @holder, @expiresAt)
      ON CONFLICT (connection_id) DO UPDATE SET owner = excluded.owner, holder = excluded.holder, expires_at = excluded.expires_at`),
    releaseLease: db.prepare('DELETE FROM refresh_leases WHERE connection_id = ? AND owner = ?'),
    loadSnapshot: db.prepare('SELECT fetched_at, source, practices FROM directory_snapshot WHERE id = 1'),
    saveSnapshot: db.prepare(`INSERT INTO directory_snapshot (id, fetched_at, source, practices) VALUES (1, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET fetched_at = excluded.fetched_at, source = excluded.source, practices = excluded.practices`)
  }
  const sweep = db.transaction((now: number) => {
    db.prepare('DELETE FROM handoffs WHERE expires_at < ?').run(now)
    db.prepare('DELETE FROM pending_authorizations WHERE expires_at < ?').run(now)
    db.prepare('DELETE FROM refresh_leases WHERE expires_at < ?').run(now)
  })
  // A lease is taken when nobody holds it, when it has run out, when the caller already holds it,
  // or when its holder's process is gone (crashed or restarted): then at once, not after expiry.
  const acquireLease = db.transaction((id: string, owner: string, now: number, ttlMs: number): boolean => {
    const held = q.getLease.get(id) as { owner: string, holder: string, expires_at: number } | undefined
    if (held && held.owner !== owner && held.expires_at >= now && !isLeaseHolderGone(held.holder)) return false
    q.putLease.run({ id, owner, holder: THIS_PROCESS_HOLDER, expiresAt: now + ttlMs })
    return true
  })
  const replaceAll = db.transaction((rows: Array<{ id: string, tokens: string }>) => {
    for (const row of rows) q.replaceTokens.run(row.tokens, row.id)
  })

  return {
    kind: 'sqlite',
    connections: {
      insert: async (row) => { q.insert.run({ ...row, refreshable: row.refreshable ? 1 : 0 }) },
      get: async (id) => {
        const r = q.get.get(id) as ConnectionRecord | undefined
        return r ? toConnection(r) : null
      },
      setKeyHash: async (id, keyHash) => { q.setKeyHash.run(keyHash, Date.now(), id) },
      saveTokens: async (id, expectedVersion, u) => q.saveTokens.run({
        id,
        expectedVersion,
        tokens: u.tokens,
        accessExpiresAt: u.accessExpiresAt,
        refreshable: u.refreshable ? 1 : 0,
        scope: u.scope ?? null,
        at: u.at
      }).changes === 1,
      setStatus: async (id, status, lastError, at) => { q.setStatus.run(status, lastError, at, id) },
      recordError: async (id, lastError, at) => { q.recordError.run(lastError, at, id) },
      delete: async (id) => q.delete.run(id).changes === 1,
      listStale: async (before, limit) => (q.listStale.all(before, limit) as Array<{ id: string }>).map((r) => r.id),
      listNewestFirst: async (after, limit) => {
        const rows = after ? q.listAfter.all(after.createdAt, after.id, limit) : q.listFirst.all(limit)
        return (rows as ConnectionRecord[]).map(toConnection)
      },
      count: async () => (q.count.get() as { n: number }).n,
      allTokens: async () => (q.allTokens.all() as Array<{ id: string, tokens: string }>)
        .map(({ id, tokens }) => ({ id, tokens })),
      replaceTokens: async (rows) => { replaceAll(rows) },
      // Named one by one: libsql's rows also carry a `_metadata` field.
      list: async () => (q.list.all() as Array<Omit<ConnectionSummary, 'refreshable'> & { refreshable: number }>)
        .map(({
          id,
          practiceId,
          status,
          refreshable,
          accessExpiresAt,
          lastRefreshAt,
          lastError,
          createdAt,
          updatedAt
        }) =>
          ({
            id,
            practiceId,
            status,
            refreshable: refreshable === 1,
            accessExpiresAt,
            lastRefreshAt,
            lastError,
            createdAt,
            updatedAt
          })),
      countByStatus: async () => statusCounts(q.countByStatus.all() as Array<{ status: ConnectionRow['status'], count: number }>)
    },
    handoffs: {
      create: async (codeHash, connectionId, expiresAt) => { q.createHandoff.run(codeHash, connectionId, expiresAt) },
      consume: async (codeHash, now) => {
        const r = q.consumeHandoff.get(codeHash) as { connection_id: string, expires_at: number } | undefined
        return r && r.expires_at >= now ? r.connection_id : null
      }
    },
    pendingAuthorizations: {
      create: async (stateHash, p) => { q.createPending.run(stateHash, p.practiceId, p.returnTo, p.expiresAt) },
      consume: async (stateHash, now) => {
        const r = q.consumePending.get(stateHash) as {
          practice_id: string,
          return_to: string | null,
          expires_at: number
        } | undefined
        return r && r.expires_at >= now
          ? {
              practiceId: r.practice_id,
              returnTo: r.return_to,
              expiresAt: r.expires_at
            }
          : null
      }
    },
    refreshLeases: {
      // IMMEDIATE: another process reading the same lease waits until this decision is written.
      acquire: async (id, owner, now, ttlMs) => acquireLease.immediate(id, owner, now, ttlMs),
      release: async (id, owner) => { q.releaseLease.run(id, owner) }
    },
    directory: {
      loadSnapshot: async () => {
        type Row = { fetched_at: string, source: string, practices: string | Uint8Array }
        const r = q.loadSnapshot.get() as Row | undefined
        if (r === undefined) return null
        // A copy written before the copies were compressed is the JSON text itself.
        const text = typeof r.practices === 'string' ? r.practices : (await gunzipAsync(r.practices)).toString('utf8')
        return { fetchedAt: r.fetched_at, source: r.source, practices: JSON.parse(text) as unknown[] }
      },
      saveSnapshot: async (s) => {
        const packed = await gzipAsync(s.practicesJson, { level: 1 })
        q.saveSnapshot.run(s.fetchedAt, s.source, packed)
      }
    },
    webhooks: sqliteWebhookOutbox(db),
    sync: openSqliteSyncStore(db),
    sweep: async (now) => { sweep(now) },
    ping: async () => { db.prepare('SELECT 1').get() },
    close: async () => { db.close() }
  }
}
