import type pg from 'pg'
import type { WebhookOutboxStore, WebhookRow } from './types.js'
import { WEBHOOK_COLUMNS, countsByStatus, webhookOutboxTable } from './webhook-rows.js'

/** The outbox table, appended to the migrations. */
export const POSTGRES_WEBHOOK_MIGRATION = webhookOutboxTable('BIGINT')

export function postgresWebhookOutbox (pool: pg.Pool): WebhookOutboxStore {
  return {
    enqueue: async (m) => {
      await pool.query(`INSERT INTO webhook_outbox (id, type, body, status, attempts, created_at, next_attempt_at, updated_at)
        VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4)`, [m.id, m.type, m.body, m.createdAt])
    },
    // SKIP LOCKED lets concurrent claimers take different rows instead of queueing on the same
    // ones; the lease is re-checked on the locked row, so a row another instance leased between
    // the inner SELECT and the UPDATE is left alone.
    claimDue: async (owner, now, leaseMs, limit) => (await pool.query<WebhookRow>(`UPDATE webhook_outbox
        SET lease_owner = $1, lease_expires_at = $3, attempts = attempts + 1, updated_at = $2
        WHERE id IN (SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= $2
            AND (lease_expires_at IS NULL OR lease_expires_at < $2) ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
          AND status = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at < $2)
        RETURNING ${WEBHOOK_COLUMNS}`, [owner, now, now + leaseMs, limit])).rows,
    settle: async (id, owner, o) => (await pool.query(`UPDATE webhook_outbox SET status = $3, next_attempt_at = $4, last_error = $5,
        updated_at = $6, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2`,
    [id, owner, o.status, o.nextAttemptAt, o.lastError, o.at])).rowCount === 1,
    get: async (id) => (await pool.query<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhook_outbox WHERE id = $1`, [id])).rows[0] ?? null,
    summary: async (failedLimit) => ({
      counts: countsByStatus((await pool.query<{ status: string, n: string }>('SELECT status, COUNT(*) AS n FROM webhook_outbox GROUP BY status')).rows),
      failed: (await pool.query<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhook_outbox WHERE status = 'failed'
        ORDER BY updated_at DESC LIMIT $1`, [failedLimit])).rows
    }),
    prune: async (before) => (await pool.query("DELETE FROM webhook_outbox WHERE status <> 'pending' AND updated_at < $1", [before])).rowCount ?? 0
  }
}
