import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseVaultKey } from './cipher.js'

export const KEY_FILE_NAME = 'vault.key'

/**
 * The vault key: VAULT_KEY when configured; otherwise the key file in DATA_DIR, created on first
 * start with mode 0600 so only the service's user can read it.
 */
export function loadVaultKey (configured: string | undefined, dataDir: string, warn: (message: string) => void): Buffer {
  if (configured) return parseVaultKey(configured)
  const file = path.join(dataDir, KEY_FILE_NAME)
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777
    if (mode & 0o077) warn(`${file} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`)
    return parseVaultKey(readFileSync(file, 'utf8').trim())
  }
  mkdirSync(dataDir, { recursive: true })
  const key = randomBytes(32)
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  chmodSync(file, 0o600)
  warn(`VAULT_KEY is not set: generated a vault key into ${file}. Back it up (without it the stored tokens are lost) or set VAULT_KEY.`)
  return key
}
