import { randomUUID } from 'node:crypto'
import { TokenCipher } from './cipher.js'
import type { ConnectionRow, Store } from '../store/types.js'
import { resealRecords } from '../sync/sealing.js'

export interface TokenSet {
  accessToken: string
  refreshToken?: string
  idToken?: string
}

/** What a login gives a new connection: its row's own fields, with the tokens still open. */
export interface NewConnectionInput extends Pick<ConnectionRow, 'practiceId' | 'fhirBase' | 'patientId' | 'scope' | 'accessExpiresAt'> {
  tokens: TokenSet
}

/** A connection as read from the store, with its tokens opened. */
export interface OpenConnection extends Omit<ConnectionRow, 'tokens'> {
  tokens: TokenSet
}

/**
 * Connections and their Healow tokens, sealed with AES-256-GCM and bound to the connection id.
 * The only code that ever sees a token in clear goes through here.
 */
// Opening tokens costs an AES-GCM decryption and a JSON parse per proxied request; the sealed text
// identifies its plaintext exactly, so a connection's opened tokens are kept until they change.
const OPENED_CACHE_SIZE = 10_000
/**
 * How long a record read for a key check is reused (a third of a proxied read's own cost was that
 * one indexed read). Writes through this process drop it at once; a key revoked or a connection
 * deleted by another instance stops working here within this time.
 */
export const RECORD_REUSE_MS = 1000

export class Vault {
  readonly #opened = new Map<string, { sealed: string, tokens: TokenSet }>()
  readonly #recent = new Map<string, { row: ConnectionRow, until: number }>()

  constructor (
    private readonly store: Store,
    private cipher: TokenCipher,
    /** Told once per connection that turns reauth_required (webhooks, metrics listen through it). */
    private readonly onReauthRequired: (connection: ConnectionRow, at: number) => void = () => {}
  ) {}

  get keyId (): string { return this.cipher.keyId }

  /** A secret shared by every instance with this vault key, for `purpose` only. */
  deriveKey (purpose: string): Buffer { return this.cipher.deriveKey(purpose) }
  /** The cipher the synced records are sealed with (it changes on rekey). */
  get recordCipher (): TokenCipher { return this.cipher }

  private seal (connectionId: string, tokens: TokenSet): string {
    return this.cipher.encrypt(JSON.stringify(tokens), `connection:${connectionId}`)
  }

  /** Opens a record's tokens (e.g. one just read to check its key) without reading it again. */
  open (row: ConnectionRow): OpenConnection {
    const cached = this.#opened.get(row.id)
    if (cached?.sealed === row.tokens) return { ...row, tokens: cached.tokens }
    const tokens = JSON.parse(this.cipher.decrypt(row.tokens, `connection:${row.id}`)) as TokenSet
    if (this.#opened.size >= OPENED_CACHE_SIZE) this.#opened.delete(this.#opened.keys().next().value!)
    this.#opened.set(row.id, { sealed: row.tokens, tokens })
    return { ...row, tokens }
  }

  async create (input: NewConnectionInput, now = Date.now()): Promise<string> {
    const id = randomUUID()
    await this.store.connections.insert({
      id,
      practiceId: input.practiceId,
      fhirBase: input.fhirBase,
      patientId: input.patientId,
      scope: input.scope,
      tokens: this.seal(id, input.tokens),
      accessExpiresAt: input.accessExpiresAt,
      refreshable: Boolean(input.tokens.refreshToken),
      createdAt: now
    })
    return id
  }

  /** The stored record without opening its tokens (status pages, key checks). */
  async record (id: string): Promise<ConnectionRow | null> {
    const now = Date.now()
    const recent = this.#recent.get(id)
    if (recent && recent.until > now) return recent.row
    const row = await this.store.connections.get(id)
    if (this.#recent.size >= OPENED_CACHE_SIZE) this.#recent.delete(this.#recent.keys().next().value!)
    if (row) this.#recent.set(id, { row, until: now + RECORD_REUSE_MS })
    else this.#recent.delete(id)
    return row
  }

  /** Drops what this process remembers of a connection, after a write to it. */
  forget (id: string): void {
    this.#recent.delete(id)
  }

  async read (id: string): Promise<OpenConnection | null> {
    const row = await this.store.connections.get(id)
    return row ? this.open(row) : null
  }

  /** Compare-and-set on tokenVersion: false when another writer got there first. */
  async saveRefreshed (
    id: string,
    expectedVersion: number,
    tokens: TokenSet,
    accessExpiresAt: number,
    scope: string | undefined,
    now = Date.now()
  ): Promise<boolean> {
    const saved = await this.store.connections.saveTokens(id, expectedVersion, {
      tokens: this.seal(id, tokens), accessExpiresAt, refreshable: Boolean(tokens.refreshToken), scope, at: now
    })
    this.forget(id)
    return saved
  }

  async markReauthRequired (id: string, reason: string, now = Date.now()): Promise<void> {
    const before = await this.store.connections.get(id)
    await this.store.connections.setStatus(id, 'reauth_required', reason, now)
    this.forget(id)
    if (before && before.status !== 'reauth_required') this.onReauthRequired(before, now)
  }

  async recordError (id: string, reason: string, now = Date.now()): Promise<void> {
    await this.store.connections.recordError(id, reason, now)
    this.forget(id)
  }

  /** Deleting the row destroys the only copy of the tokens. */
  async destroy (id: string): Promise<boolean> {
    const deleted = await this.store.connections.delete(id)
    this.#opened.delete(id)
    this.forget(id)
    return deleted
  }

  /** Re-encrypts every connection (and its synced records) under `next`; each table is replaced in one transaction. */
  async rekey (next: TokenCipher): Promise<number> {
    await resealRecords(this.store, this.cipher, next)
    const rows = await this.store.connections.allTokens()
    const resealed = rows.map(({ id, tokens }) => ({
      id, tokens: next.encrypt(this.cipher.decrypt(tokens, `connection:${id}`), `connection:${id}`)
    }))
    await this.store.connections.replaceTokens(resealed)
    this.cipher = next
    this.#opened.clear()
    this.#recent.clear()
    return resealed.length
  }
}
