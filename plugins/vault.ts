import fp from 'fastify-plugin'
import { TokenCipher } from '../lib/tokens/cipher.js'
import { loadVaultKey } from '../lib/tokens/key-file.js'
import { Vault } from '../lib/tokens/vault.js'

declare module 'fastify' {
  interface FastifyInstance { vault: Vault }
}

export default fp(async (app) => {
  const key = loadVaultKey(app.config.VAULT_KEY, app.config.DATA_DIR, (message) => app.log.warn(message))
  app.decorate('vault', new Vault(app.store, new TokenCipher(key), (connection, at) => {
    const { id: connectionId, practiceId } = connection
    app.events.publish({ type: 'connection.reauth_required', connectionId, practiceId, at })
  }))
}, { name: 'vault', dependencies: ['config', 'store', 'events'] })
