import fp from 'fastify-plugin'
import { MereCompat } from '../lib/mere/compat.js'

declare module 'fastify' {
  interface FastifyInstance { mereCompat: MereCompat }
}

export default fp(async (app) => {
  app.decorate('mereCompat', new MereCompat({
    config: app.config,
    tenantDirectory: app.tenantDirectory,
    vault: app.vault,
    connections: app.connections,
    tokens: app.tokens,
    healowTokenClient: app.healowTokenClient,
    requestBudget: app.requestBudget
  }))
}, { name: 'mere-compat', dependencies: ['config', 'tenant-directory', 'vault', 'connections', 'tokens', 'healow-token-client', 'request-budget'] })
