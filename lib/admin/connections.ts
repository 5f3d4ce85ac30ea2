import type { ConnectionPosition, ConnectionRow, ConnectionStore } from '../store/types.js'
import type { SyncStatus } from '../sync/service.js'
import { isoTime } from '../iso-time.js'

/** The connection's latest sync run: running, or how it ended; null when it never synced. */
export interface LastSync {
  status: 'running' | 'succeeded' | 'failed'
  startedAt: string
  finishedAt: string | null
  error?: string
}

export interface OperatorConnection {
  id: string
  practiceId: string
  practiceName: string | null
  patientId: string
  status: ConnectionRow['status']
  claimed: boolean
  refreshable: boolean
  createdAt: string
  accessTokenExpiresAt: string
  lastRefreshAt: string | null
  lastError: string | null
  lastSync: LastSync | null
  reconnectUrl: string
}

export interface OperatorConnectionPage { items: OperatorConnection[], total: number, nextCursor?: string }

export class CursorError extends Error {}

export function encodeConnectionCursor (position: ConnectionPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url')
}

export function decodeConnectionCursor (cursor: string): ConnectionPosition {
  let value: unknown
  try { value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) } catch { value = null }
  if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || typeof value[1] !== 'string') {
    throw new CursorError('the cursor is not one this service returned; start again without it')
  }
  return { createdAt: value[0] as number, id: value[1] }
}

function lastSyncOf (s: SyncStatus): LastSync | null {
  if (s.status === 'idle' || s.startedAt === null) return null
  return {
    status: s.status,
    startedAt: isoTime(s.startedAt),
    finishedAt: isoTime(s.finishedAt),
    ...(s.status === 'failed' && s.lastError !== undefined ? { error: s.lastError } : {})
  }
}

/** What the operator sees of a connection: its state, never a token or a key. */
export function describeForOperator (
  row: ConnectionRow,
  practiceName: string | null,
  reconnectUrl: string,
  sync: SyncStatus
): OperatorConnection {
  return {
    id: row.id,
    practiceId: row.practiceId,
    practiceName,
    patientId: row.patientId,
    status: row.status,
    claimed: row.keyHash !== null,
    refreshable: row.refreshable,
    createdAt: isoTime(row.createdAt),
    accessTokenExpiresAt: isoTime(row.accessExpiresAt),
    lastRefreshAt: isoTime(row.lastRefreshAt),
    lastError: row.lastError,
    lastSync: lastSyncOf(sync),
    reconnectUrl
  }
}

/** One page of every connection, newest first; one row more than asked tells whether another page follows. */
export async function listForOperator (
  store: ConnectionStore,
  cursor: string | undefined,
  limit: number,
  describe: (row: ConnectionRow) => Promise<OperatorConnection>
): Promise<OperatorConnectionPage> {
  const rows = await store.listNewestFirst(cursor ? decodeConnectionCursor(cursor) : null, limit + 1)
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return {
    items: await Promise.all(page.map(describe)),
    total: await store.count(),
    ...(rows.length > limit && last ? { nextCursor: encodeConnectionCursor(last) } : {})
  }
}
