import fp from 'fastify-plugin'
import { Readiness } from '../lib/readiness.js'

declare module 'fastify' {
  interface FastifyInstance { readiness: Readiness }
}

export default fp(async (app) => {
  app.decorate('readiness', new Readiness())
}, { name: 'readiness' })
