import { existsSync } from 'node:fs'
import { buildApp } from '../app.js'
import { ConfigError, loadConfig } from '../plugins/config.js'
import { TokenCipher, parseVaultKey } from '../lib/tokens/cipher.js'

/*
 * npm run vault -- rekey
 *   Re-encrypts every stored token under NEW_VAULT_KEY (64 hex characters or base64), using the
 *   configured VAULT_KEY (or the key file) to read them. Stop the gateway first, then set
 *   VAULT_KEY to the new key before starting it again.
 */
const [command] = process.argv.slice(2)
if (command !== 'rekey') {
  process.stderr.write('usage: npm run vault -- rekey   (with NEW_VAULT_KEY set to the new key)\n')
  process.exit(2)
}
if (existsSync('.env')) process.loadEnvFile('.env')
const newKeyText = process.env.NEW_VAULT_KEY
if (!newKeyText) {
  process.stderr.write('NEW_VAULT_KEY is required: the key to re-encrypt under (e.g. `openssl rand -hex 32`)\n')
  process.exit(2)
}
let next: TokenCipher
try {
  next = new TokenCipher(parseVaultKey(newKeyText))
} catch (err) {
  process.stderr.write(`NEW_VAULT_KEY: ${(err as Error).message}\n`)
  process.exit(2)
}
let config
try {
  config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', HEALOW_DIRECTORY_URL: process.env.HEALOW_DIRECTORY_URL ?? 'none.json' })
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(2)
}
const app = await buildApp(config)
await app.ready()
const from = app.vault.keyId
const count = await app.vault.rekey(next)
await app.close()
process.stdout.write(`re-encrypted ${count} connection(s) from key ${from} to key ${next.keyId}; now set VAULT_KEY to the new key\n`)
