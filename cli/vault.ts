import { existsSync } from 'node:fs'
import path from 'node:path'
import { STORE_SETTINGS, databaseUrlOf, loadSettings } from '../lib/config.js'
import { openStore } from '../lib/store/open.js'
import { Vault } from '../lib/tokens/vault.js'
import { TokenCipher, parseVaultKey } from '../lib/tokens/cipher.js'
import { KEY_FILE_NAME, loadVaultKey } from '../lib/tokens/key-file.js'
import { UsageError, type Command } from './command.js'

export const vaultRekey: Command = {
  name: 'vault rekey',
  args: '',
  summary: [
    'Re-encrypts every stored token under NEW_VAULT_KEY (64 hex characters or base64, e.g.',
    '`openssl rand -hex 32`), reading them with VAULT_KEY (or the key file in DATA_DIR).',
    'Stop the gateway first; start it again with VAULT_KEY set to the new key.'
  ].join('\n'),
  settings: [...STORE_SETTINGS, 'VAULT_KEY', 'NEW_VAULT_KEY'],
  async run (args, env, { out, err }) {
    if (args.length > 0) throw new UsageError(`vault rekey takes no arguments, got "${args.join(' ')}"`)
    const settings = loadSettings(env, this.settings)
    if (settings.NEW_VAULT_KEY === undefined) throw new UsageError('NEW_VAULT_KEY is required: the key to re-encrypt under (e.g. `openssl rand -hex 32`)')
    // Without a key there is nothing to read the tokens with; generating one here would hide the mistake.
    if (settings.VAULT_KEY === undefined && !existsSync(path.join(settings.DATA_DIR, KEY_FILE_NAME))) {
      throw new Error(`no vault key: VAULT_KEY is not set and ${path.join(settings.DATA_DIR, KEY_FILE_NAME)} does not exist`)
    }
    const current = new TokenCipher(loadVaultKey(settings.VAULT_KEY, settings.DATA_DIR, (message) => err.write(`${message}\n`)))
    const next = new TokenCipher(parseVaultKey(settings.NEW_VAULT_KEY))
    const store = await openStore(databaseUrlOf(settings))
    try {
      err.write(`re-encrypting the vault from key ${current.keyId} to key ${next.keyId}…\n`)
      const count = await new Vault(store, current).rekey(next)
      out.write(`re-encrypted ${count} connection(s) from key ${current.keyId} to key ${next.keyId}; now set VAULT_KEY to the new key\n`)
    } finally {
      await store.close()
    }
  }
}
