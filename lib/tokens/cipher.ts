import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto'

const FORMAT = 'v1'

/** A key's 32 bytes, written as 64 hex characters or base64; undefined when it is not one. */
function decodeVaultKey (text: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64')
  return key.length === 32 ? key : undefined
}

/** What is wrong with the key in variable `name`, or undefined when it is a key. */
export function vaultKeyProblem (name: string, text: string): string | undefined {
  if (decodeVaultKey(text) === undefined) return `${name} must be 32 bytes, written as 64 hex characters or base64 (e.g. \`openssl rand -hex 32\`)`
}

/** Parses VAULT_KEY: 64 hex characters or base64 of 32 bytes (config has already checked it). */
export function parseVaultKey (text: string, name = 'VAULT_KEY'): Buffer {
  const key = decodeVaultKey(text)
  if (key === undefined) throw new Error(vaultKeyProblem(name, text))
  return key
}

export class VaultKeyMismatchError extends Error {
  override name = 'VaultKeyMismatchError'
}

/**
 * AES-256-GCM with a fresh 96-bit nonce per message. The associated data binds a ciphertext to
 * the record it belongs to, so a row copied onto another connection fails to decrypt; the key id
 * tells a wrong key from a tampered row.
 */
export class TokenCipher {
  readonly keyId: string
  readonly #key: Buffer

  constructor (key: Buffer) {
    if (key.length !== 32) throw new Error('AES-256 needs a 32-byte key')
    this.#key = key
    this.keyId = createHash('sha256').update('healow-sync vault key id').update(key).digest('base64url').slice(0, 8)
  }

  /** A key for another purpose (e.g. signing cookies), derived so that it never equals the vault key. */
  deriveKey (purpose: string): Buffer {
    return createHmac('sha256', this.#key).update(`healow-sync derived key: ${purpose}`).digest()
  }

  encrypt (plaintext: string, boundTo: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    // Strings are UTF-8: the default of Buffer.from and Hmac.update, and named where Cipher.update needs it.
    cipher.setAAD(Buffer.from(boundTo))
    // Stryker disable next-line StringLiteral: Cipher.update reads a string with an empty encoding name as UTF-8 too
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return [FORMAT, this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.')
  }

  /**
   * A keyed digest of `text`: the same text gives the same digest under one key, so it can be
   * looked up, while the text (a record's id) cannot be read from it or confirmed without the key.
   */
  digest (text: string): string {
    return createHmac('sha256', this.#key).update('healow-sync lookup digest\0').update(text).digest('base64url')
  }

  decrypt (sealed: string, boundTo: string): string {
    const [format, keyId, iv, tag, body] = sealed.split('.')
    if (format !== FORMAT || !iv || !tag || body === undefined) throw new Error('not a vault ciphertext')
    if (keyId !== this.keyId) throw new VaultKeyMismatchError(`sealed under vault key ${keyId}, the configured key is ${this.keyId}`)
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(boundTo))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
  }
}
