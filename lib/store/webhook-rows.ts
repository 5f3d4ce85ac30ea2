import type { WebhookRow } from './types.js'

/**
 * The outbox table, for either database's migrations: times are epoch milliseconds, which need
 * BIGINT in PostgreSQL (SQLite's INTEGER holds 64 bits). Lease columns are null while nobody sends.
 */
export function webhookOutboxTable (epochMillis: 'INTEGER' | 'BIGINT'): string {
  return `CREATE TABLE webhook_outbox (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     body TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     created_at ${epochMillis} NOT NULL,
     next_attempt_at ${epochMillis} NOT NULL,
     lease_owner TEXT,
     lease_expires_at ${epochMillis},
     last_error TEXT,
     updated_at ${epochMillis} NOT NULL
   );
   CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);`
}

/** The outbox's columns named as WebhookRow names them, so a selected row needs no mapping. */
export const WEBHOOK_COLUMNS = `id, type, body, status, attempts, created_at AS "createdAt", next_attempt_at AS "nextAttemptAt",
  last_error AS "lastError", updated_at AS "updatedAt"`

/** How many messages are in each state, from `SELECT status, COUNT(*) … GROUP BY status`. */
export function countsByStatus (rows: Array<{ status: string, n: number | string }>): Record<WebhookRow['status'], number> {
  const counts = { pending: 0, delivered: 0, failed: 0 }
  for (const row of rows) if (row.status in counts) counts[row.status as WebhookRow['status']] = Number(row.n)
  return counts
}
