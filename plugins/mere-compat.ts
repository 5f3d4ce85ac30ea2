import fp from 'fastify-plugin'
import { MereCompat, mereCompatDeps } from '../lib/mere/compat.js'

declare module 'fastify' {
  interface FastifyInstance { mereCompat: MereCompat }
}

export default fp(async (app) => {
  app.decorate('mereCompat', new MereCompat(mereCompatDeps(app)))
}, { name: 'mere-compat', dependencies: ['config', 'tenant-directory', 'vault', 'connections', 'tokens', 'healow-token-client', 'request-budget'] })
