import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { ensurePrivateDirectory, PRIVATE_FILE_MODE } from '../../lib/files/private-directory.js'
import path from 'node:path'
import { parseVaultKey } from './cipher.js'

export const KEY_FILE_NAME = 'vault.key'

/**
 * The vault key: VAULT_KEY when configured; otherwise the key file in DATA_DIR, created on first
 * start with mode 0600 so only the service's user can read it.
 */
export function loadVaultKey (
  configured: string | undefined, dataDir: string, warn: (message: string) => void
): Buffer {
  if (configured) return parseVaultKey(configured)
  const file = path.join(dataDir, KEY_FILE_NAME)
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777
    if (mode & 0o077) warn(`${file} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`)
    return parseVaultKey(readFileSync(file, 'utf8').trim())
  }
  ensurePrivateDirectory(dataDir, 'DATA_DIR')
  const key = randomBytes(32)
  writeFileSync(file, key.toString('hex') + '\n', { mode: PRIVATE_FILE_MODE, flag: 'wx' })
  chmodSync(file, PRIVATE_FILE_MODE)
  warn(`VAULT_KEY is not set: generated a vault key into ${file}. Back it up (without it the stored tokens are lost) or set VAULT_KEY.`)
  return key
}
