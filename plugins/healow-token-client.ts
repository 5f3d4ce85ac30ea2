import fp from 'fastify-plugin'
import { HealowTokenClient } from '../lib/tokens/healow-token-client.js'

declare module 'fastify' {
  interface FastifyInstance { healowTokenClient: HealowTokenClient }
}

export default fp(async (app) => {
  app.decorate('healowTokenClient', new HealowTokenClient(app.config))
}, { name: 'healow-token-client', dependencies: ['config'] })
