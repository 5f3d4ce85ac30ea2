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

export interface ConnectionStore {
  insert (row: NewConnection): Promise<void>
  get (id: string): Promise<ConnectionRow | null>
  setKeyHash (id: string, keyHash: string): Promise<void>
  /** Writes new tokens only if nobody wrote since `expectedVersion`; false when someone did. */
  saveTokens (id: string, expectedVersion: number, update: { tokens: string, accessExpiresAt: number, refreshable: boolean, scope?: string, at: number }): Promise<boolean>
  setStatus (id: string, status: ConnectionStatus, lastError: string | null, at: number): Promise<void>
  recordError (id: string, lastError: string, at: number): Promise<void>
  delete (id: string): Promise<boolean>
  /** Active, refreshable connections whose last refresh (or creation) is older than `before`. */
  listStale (before: number, limit: number): Promise<string[]>
  /** Every connection's id and ciphertext, for re-encryption under a new key. */
  allTokens (): Promise<Array<{ id: string, tokens: string }>>
  replaceTokens (rows: Array<{ id: string, tokens: string }>): Promise<void>
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
  saveSnapshot (snapshot: DirectorySnapshot): Promise<void>
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  readonly connections: ConnectionStore
  readonly handoffs: HandoffStore
  readonly pendingAuthorizations: PendingAuthorizationStore
  readonly refreshLeases: RefreshLeaseStore
  readonly directory: DirectoryStore
  readonly sync: SyncStore
  /** Deletes expired handoffs, pending authorizations and leases. */
  sweep (now: number): Promise<void>
  ping (): Promise<void>
  close (): Promise<void>
}
