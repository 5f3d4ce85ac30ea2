import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { ConnectionRow, Store } from '../store/types.js'
import type { Vault } from './vault.js'
import { GatewayError } from '../errors.js'

export const HANDOFF_TTL_MS = 5 * 60_000
// Prefixes make a leaked credential recognisable to secret scanners and to people.
const KEY_PREFIX = 'hsk_'
const HANDOFF_PREFIX = 'hsh_'
// Spares a store read for what cannot be a key.
// Exactly one key after the scheme: the captured text is what is checked.
const BEARER_KEY = /^Bearer ([A-Za-z0-9_-]{20,200})$/

export function sha256 (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function randomSecret (prefix: string): string {
  return prefix + randomBytes(32).toString('base64url')
}

/** A connection whose key the caller proved, with the stored record the key was checked against (no second read). */
export interface AuthenticatedConnection extends Pick<ConnectionRow, 'id' | 'practiceId' | 'fhirBase' | 'patientId' | 'status'> {
  record: ConnectionRow
}

/**
 * Who may use a connection: a one-time handoff code becomes a 256-bit connection key, shown once
 * and stored only as its SHA-256 (the key is random, so a fast hash is enough).
 */
export class Connections {
  constructor (private readonly store: Store, private readonly vault: Vault) {}

  async createHandoff (connectionId: string, now = Date.now()): Promise<string> {
    const code = randomSecret(HANDOFF_PREFIX)
    await this.store.handoffs.create(sha256(code), connectionId, now + HANDOFF_TTL_MS)
    return code
  }

  /** Single use; null for an unknown, spent or expired handoff. */
  async claim (handoff: string, now = Date.now()): Promise<{ connectionId: string, key: string } | null> {
    const connectionId = await this.store.handoffs.consume(sha256(handoff), now)
    if (!connectionId) return null
    return { connectionId, key: await this.issueKey(connectionId) }
  }

  /** A new key for the connection; any earlier key stops working. */
  async issueKey (connectionId: string): Promise<string> {
    const key = randomSecret(KEY_PREFIX)
    await this.store.connections.setKeyHash(connectionId, sha256(key))
    this.vault.forget(connectionId)
    return key
  }

  /** Checks a key against the connection's stored hash. */
  async verifyKey (connectionId: string, key: string): Promise<AuthenticatedConnection | null> {
    const row = await this.vault.record(connectionId)
    const expected = row?.keyHash ? Buffer.from(row.keyHash, 'hex') : null
    if (!row || !expected || !timingSafeEqual(expected, Buffer.from(sha256(key), 'hex'))) return null
    const { id, practiceId, fhirBase, patientId, status } = row
    return { id, practiceId, fhirBase, patientId, status, record: row }
  }

  /**
   * Checks `Authorization: Bearer <key>` for this connection; one answer for every failure, so
   * ids cannot be probed.
   */
  async authenticate (header: string | undefined, connectionId: string): Promise<AuthenticatedConnection> {
    // Stryker disable next-line StringLiteral: equivalent; any stand-in for a missing header is no key
    const key = BEARER_KEY.exec(header ?? '')?.[1]
    const connection = key !== undefined ? await this.verifyKey(connectionId, key) : null
    if (!connection) {
      throw new GatewayError(401, 'unauthorized', 'Missing or wrong connection key: send the key from POST /connections/claim as "Authorization: Bearer <key>"')
    }
    return connection
  }
}
