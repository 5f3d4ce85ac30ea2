import type { WebhookOutboxStore, WebhookRow } from './types.js'
import { WEBHOOK_COLUMNS, countsByStatus, webhookOutboxTable } from './webhook-rows.js'

/** The outbox table, appended to the migrations. */
export const SQLITE_WEBHOOK_MIGRATION = webhookOutboxTable('INTEGER')

/** What the outbox uses of a SQLite connection (better-sqlite3's API, which libsql shares). */
interface SqliteStatement {
  run (...params: unknown[]): { changes: number | bigint }
  get (...params: unknown[]): unknown
  all (...params: unknown[]): unknown[]
}
interface SqliteDatabase { prepare (sql: string): SqliteStatement }

export function sqliteWebhookOutbox (db: SqliteDatabase): WebhookOutboxStore {
  const q = {
    enqueue: db.prepare(`INSERT INTO webhook_outbox (id, type, body, status, attempts, created_at, next_attempt_at, updated_at)
      VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)`),
    // One statement: SQLite runs it under the database's write lock, so two processes sharing the
    // file cannot both lease the same row.
    claim: db.prepare(`UPDATE webhook_outbox SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ?
      WHERE id IN (SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= ?
        AND (lease_expires_at IS NULL OR lease_expires_at < ?) ORDER BY next_attempt_at LIMIT ?)
      RETURNING ${WEBHOOK_COLUMNS}`),
    settle: db.prepare(`UPDATE webhook_outbox SET status = ?, next_attempt_at = ?, last_error = ?, updated_at = ?,
      lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?`),
    get: db.prepare(`SELECT ${WEBHOOK_COLUMNS} FROM webhook_outbox WHERE id = ?`),
    counts: db.prepare('SELECT status, COUNT(*) AS n FROM webhook_outbox GROUP BY status'),
    failed: db.prepare(`SELECT ${WEBHOOK_COLUMNS} FROM webhook_outbox WHERE status = 'failed' ORDER BY updated_at DESC LIMIT ?`),
    prune: db.prepare("DELETE FROM webhook_outbox WHERE status <> 'pending' AND updated_at < ?")
  }
  return {
    enqueue: async (m) => { q.enqueue.run(m.id, m.type, m.body, m.createdAt, m.createdAt, m.createdAt) },
    claimDue: async (owner, now, leaseMs, limit) =>
      q.claim.all(owner, now + leaseMs, now, now, now, limit) as WebhookRow[],
    settle: async (id, owner, o) =>
      Number(q.settle.run(o.status, o.nextAttemptAt, o.lastError, o.at, id, owner).changes) === 1,
    get: async (id) => (q.get.get(id) as WebhookRow | undefined) ?? null,
    summary: async (failedLimit) => ({
      counts: countsByStatus(q.counts.all() as Array<{ status: string, n: number }>),
      failed: q.failed.all(failedLimit) as WebhookRow[]
    }),
    prune: async (before) => Number(q.prune.run(before).changes)
  }
}
