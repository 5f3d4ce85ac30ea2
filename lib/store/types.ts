import type { SyncStore } from './sync-types.js'

/**
 * The storage interface. Everything above it (vault, refresher, OAuth, directory) is the same
 * whichever database is behind it: SQLite for one household, PostgreSQL for several instances.
 * Times are epoch milliseconds. Nothing secret is stored in clear: tokens are ciphertext made by
 * the vault, keys and one-time codes are stored as SHA-256 hashes.
 */

export type ConnectionStatus = 'active' | 'reauth_required'

export interface ConnectionRow {
  id: string
  practiceId: string
  fhirBase: string
  patientId: string
  scope: string
  status: ConnectionStatus
  /** SHA-256 (hex) of the connection key; null until the handoff is claimed. */
  keyHash: string | null
  /** AES-256-GCM ciphertext of the token set, bound to this connection id. */
  tokens: string
  /** Bumped on every token write; the refresher's compare-and-set. */
  tokenVersion: number
  accessExpiresAt: number
  refreshable: boolean
  lastRefreshAt: number | null
  lastError: string | null
  createdAt: number
  updatedAt: number
}

/** Where a page of connections ends: the newest-first order is (createdAt, id) descending. */
export interface ConnectionPosition { createdAt: number, id: string }

/** What an operator may see of a connection: no token, key hash or patient. */
export type ConnectionSummary = Pick<ConnectionRow, 'id' | 'practiceId' | 'status' | 'refreshable' | 'accessExpiresAt' | 'lastRefreshAt' | 'lastError' | 'createdAt' | 'updatedAt'>

/** The columns of a ConnectionSummary, named as it names them (the same SQL in SQLite and PostgreSQL). */
export const CONNECTION_SUMMARY_COLUMNS = `id, practice_id AS "practiceId", status, refreshable, access_expires_at AS "accessExpiresAt",
  last_refresh_at AS "lastRefreshAt", last_error AS "lastError", created_at AS "createdAt", updated_at AS "updatedAt"`

/** Every status with its count, zero for those no row has. */
export function statusCounts (
  rows: Array<{ status: ConnectionStatus, count: number }>
): Record<ConnectionStatus, number> {
  const counts: Record<ConnectionStatus, number> = { active: 0, reauth_required: 0 }
  for (const { status, count } of rows) counts[status] = Number(count)
  return counts
}

export interface NewConnection extends Omit<ConnectionRow, 'tokenVersion' | 'updatedAt' | 'lastRefreshAt' | 'lastError' | 'keyHash' | 'status'> {}

export interface PendingAuthorization {
  practiceId: string
  returnTo: string | null
  expiresAt: number
}

export interface DirectorySnapshot {
  fetchedAt: string
  source: string
  /** The parsed practices, as the directory plugin keeps them. */
  practices: unknown[]
}

/** A snapshot to store: its practices already as JSON text, which for a large list is written in slices. */
export interface DirectorySnapshotText {
  fetchedAt: string
  source: string
  practicesJson: string
}

export interface ConnectionStore {
  insert (row: NewConnection): Promise<void>
  get (id: string): Promise<ConnectionRow | null>
  setKeyHash (id: string, keyHash: string): Promise<void>
  /** Writes new tokens only if nobody wrote since `expectedVersion`; false when someone did. */
  saveTokens (
    id: string,
    expectedVersion: number,
    update: { tokens: string, accessExpiresAt: number, refreshable: boolean, scope?: string, at: number }
  ): Promise<boolean>
  setStatus (id: string, status: ConnectionStatus, lastError: string | null, at: number): Promise<void>
  recordError (id: string, lastError: string, at: number): Promise<void>
  delete (id: string): Promise<boolean>
  /** Active, refreshable connections whose last refresh (or creation) is older than `before`. */
  listStale (before: number, limit: number): Promise<string[]>
  /** A page of connections, newest first, after the (createdAt, id) of the previous page's last one. */
  listNewestFirst (after: ConnectionPosition | null, limit: number): Promise<ConnectionRow[]>
  count (): Promise<number>
  /** Every connection's id and ciphertext, for re-encryption under a new key. */
  allTokens (): Promise<Array<{ id: string, tokens: string }>>
  replaceTokens (rows: Array<{ id: string, tokens: string }>): Promise<void>
  /** Every connection, oldest first, without anything secret. */
  list (): Promise<ConnectionSummary[]>
  /** How many connections are in each status. */
  countByStatus (): Promise<Record<ConnectionStatus, number>>
}

export interface HandoffStore {
  create (codeHash: string, connectionId: string, expiresAt: number): Promise<void>
  /** Single use: the first caller before expiry gets the connection id, everyone else null. */
  consume (codeHash: string, now: number): Promise<string | null>
}

export interface PendingAuthorizationStore {
  create (stateHash: string, pending: PendingAuthorization): Promise<void>
  /** Single use, like handoffs: a replayed state finds nothing. */
  consume (stateHash: string, now: number): Promise<PendingAuthorization | null>
}

/** A lease on one connection's refresh, shared by every instance using the database. */
export interface RefreshLeaseStore {
  acquire (connectionId: string, owner: string, now: number, ttlMs: number): Promise<boolean>
  release (connectionId: string, owner: string): Promise<void>
}

export interface DirectoryStore {
  loadSnapshot (): Promise<DirectorySnapshot | null>
  saveSnapshot (snapshot: DirectorySnapshotText): Promise<void>
}

export type WebhookStatus = 'pending' | 'delivered' | 'failed'

/** One webhook in the outbox. The body holds ids and counts only, so it is stored in clear. */
export interface WebhookRow {
  id: string
  type: string
  body: string
  status: WebhookStatus
  /** Attempts started so far (counted when claimed, so a crashed sender's attempt counts too). */
  attempts: number
  createdAt: number
  nextAttemptAt: number
  /** Why the last attempt failed (a status code or a network error), never the receiver's body. */
  lastError: string | null
  updatedAt: number
}

export interface WebhookOutcome { status: WebhookStatus, nextAttemptAt: number, lastError: string | null, at: number }

/**
 * The durable outbox of webhooks. A message is claimed with a lease on its row before it is sent,
 * so of several instances on one database exactly one sends a given attempt; a crashed sender's
 * lease lapses and the message is tried again.
 */
export interface WebhookOutboxStore {
  enqueue (message: { id: string, type: string, body: string, createdAt: number }): Promise<void>
  /** Leases up to `limit` pending messages due at `now` to `owner` and counts the attempt. */
  claimDue (owner: string, now: number, leaseMs: number, limit: number): Promise<WebhookRow[]>
  /** Records an attempt's outcome and drops the lease; false if `owner` no longer held it. */
  settle (id: string, owner: string, outcome: WebhookOutcome): Promise<boolean>
  get (id: string): Promise<WebhookRow | null>
  /** How many messages are in each state, and the most recent failures. */
  summary (failedLimit: number): Promise<{ counts: Record<WebhookStatus, number>, failed: WebhookRow[] }>
  /** Deletes delivered and failed messages last updated before `before`. */
  prune (before: number): Promise<number>
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  readonly connections: ConnectionStore
  readonly handoffs: HandoffStore
  readonly pendingAuthorizations: PendingAuthorizationStore
  readonly refreshLeases: RefreshLeaseStore
  readonly directory: DirectoryStore
  readonly webhooks: WebhookOutboxStore
  readonly sync: SyncStore
  /** Deletes expired handoffs, pending authorizations and leases. */
  sweep (now: number): Promise<void>
  ping (): Promise<void>
  close (): Promise<void>
}
