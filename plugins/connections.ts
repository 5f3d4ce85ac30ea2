import fp from 'fastify-plugin'
import { Connections } from '../lib/tokens/connections.js'

declare module 'fastify' {
  interface FastifyInstance { connections: Connections }
}

export default fp(async (app) => {
  app.decorate('connections', new Connections(app.store, app.vault))
}, { name: 'connections', dependencies: ['store', 'vault'] })
