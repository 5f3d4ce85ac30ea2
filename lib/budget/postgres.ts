import pg from 'pg'
import { setTimeout as sleep } from 'node:timers/promises'
import { migrate } from '../store/postgres-migrations.js'
import type { BudgetDecision, RequestBudget, SlidingWindowOptions } from './sliding-window.js'

/** The practice's row, locked, with the send times still inside the window (`params` adds window_ms and the rest). */
function lockedWindow (params: string): string {
  return `
  WITH params AS (
    SELECT $1::text AS practice_id, $2::bigint AS now, ${params}
  ), budget AS (
    SELECT params.*, b.blocked_until,
      ARRAY(SELECT s FROM unnest(b.sent) AS s WHERE s > params.now - params.window_ms ORDER BY s) AS recent
    FROM request_budgets AS b JOIN params USING (practice_id)
    FOR UPDATE OF b
  )`
}

/**
 * Reserves the earliest moment the next request to a practice may go, in one statement: the
 * practice's row is locked (FOR UPDATE; a concurrent taker waits and then reads the row as the
 * other left it), send times older than a window are dropped, and the new time is appended
 * unless it lies more than max_wait ahead. The same sliding window as SlidingWindowBudget, kept
 * in the database so that every instance counts every other's requests. Answers the reserved
 * time, or the refused one.
 */
const RESERVE_SLOT = `${lockedWindow('$3::int AS max_sends, $4::bigint AS window_ms, $5::bigint AS max_wait')}, slot AS (
    SELECT budget.*, GREATEST(now, blocked_until, CASE WHEN cardinality(recent) >= max_sends
      THEN recent[cardinality(recent) - max_sends + 1] + window_ms ELSE now END) AS at
    FROM budget
  )
  UPDATE request_budgets SET sent = CASE WHEN slot.at - slot.now <= slot.max_wait THEN slot.recent || slot.at ELSE slot.recent END
  FROM slot WHERE request_budgets.practice_id = slot.practice_id
  RETURNING slot.at`

/**
 * The background take (RequestBudget.takeSpare) in one statement on the same locked row: a slot
 * now only while fewer than `spare` sends lie in the window, nothing is blocked and nothing is
 * queued ahead; answers 0 when taken, else the wait in milliseconds.
 */
const TAKE_SPARE = `${lockedWindow('$3::int AS spare, $4::bigint AS window_ms')}, slot AS (
    SELECT budget.*, GREATEST(0, blocked_until - now, COALESCE(recent[cardinality(recent)], 0) - now,
      CASE WHEN cardinality(recent) >= spare THEN GREATEST(1, recent[cardinality(recent) - spare + 1] + window_ms - now) ELSE 0 END) AS wait
    FROM budget
  )
  UPDATE request_budgets SET sent = CASE WHEN slot.wait = 0 THEN slot.recent || slot.now ELSE slot.recent END
  FROM slot WHERE request_budgets.practice_id = slot.practice_id
  RETURNING slot.wait`

export interface PostgresRequestBudget extends RequestBudget {
  close (): Promise<void>
}

/**
 * Healow's per-practice budget shared by all gateway instances on one PostgreSQL database: the
 * 250 requests a minute are Healow's count of everything our client sends, whichever instance
 * sends it. Costs one short statement per request.
 */
export async function openPostgresRequestBudget (
  databaseUrl: string,
  { limit, windowMs = 60_000, maxWaitMs = 2_000, now = Date.now }: SlidingWindowOptions
): Promise<PostgresRequestBudget> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error('a request budget needs a limit of at least 1')
  // Its own small pool: a request waiting for budget must not wait for a vault connection too.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 5, connectionTimeoutMillis: 10_000 })
  pool.on('error', () => {}) // as in the store: a dropped idle connection is replaced on next use
  await migrate(pool)

  const reserve = async (practiceId: string, at: number): Promise<number> => {
    const { rows } = await pool.query<{ at: string }>(RESERVE_SLOT, [practiceId, at, limit, windowMs, maxWaitMs])
    if (rows.length === 1) return Number(rows[0].at)
    // The practice's first request: create its row, then reserve as usual.
    await pool.query('INSERT INTO request_budgets (practice_id) VALUES ($1) ON CONFLICT (practice_id) DO NOTHING', [practiceId])
    return await reserve(practiceId, at)
  }

  const takeSpare = async (practiceId: string, keepFree: number): Promise<BudgetDecision> => {
    if (limit - keepFree < 1) return { ok: false, retryAfterMs: windowMs }
    const { rows } = await pool.query<{ wait: string }>(TAKE_SPARE, [practiceId, now(), limit - keepFree, windowMs])
    if (rows.length === 0) {
      await pool.query('INSERT INTO request_budgets (practice_id) VALUES ($1) ON CONFLICT (practice_id) DO NOTHING', [practiceId])
      return await takeSpare(practiceId, keepFree)
    }
    const wait = Number(rows[0].wait)
    return wait === 0 ? { ok: true } : { ok: false, retryAfterMs: wait }
  }

  return {
    async take (practiceId: string): Promise<BudgetDecision> {
      const requestedAt = now()
      const at = await reserve(practiceId, requestedAt)
      if (at - requestedAt > maxWaitMs) return { ok: false, retryAfterMs: at - requestedAt }
      const wait = at - now()
      if (wait > 0) await sleep(wait)
      return { ok: true }
    },
    takeSpare,
    async holdOff (practiceId: string, ms: number): Promise<void> {
      await pool.query(`INSERT INTO request_budgets (practice_id, blocked_until) VALUES ($1, $2)
        ON CONFLICT (practice_id) DO UPDATE SET blocked_until = GREATEST(request_budgets.blocked_until, excluded.blocked_until)`,
      [practiceId, now() + ms])
    },
    close: async () => { await pool.end() }
  }
}
