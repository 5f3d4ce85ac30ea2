import fp from 'fastify-plugin'
import { GatewayEvents } from '../lib/events.js'

declare module 'fastify' {
  interface FastifyInstance { events: GatewayEvents }
}

export default fp(async (app) => {
  app.decorate('events', new GatewayEvents((err, event) => app.log.warn({ err, event: event.type }, 'an event listener failed')))
}, { name: 'events' })
