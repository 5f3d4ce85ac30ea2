import fp from 'fastify-plugin'
import { SlidingWindowBudget, type RequestBudget } from '../lib/budget/sliding-window.js'
import { gatewayBudget } from '../lib/budget/gateway-share.js'


declare module 'fastify' {
  interface FastifyInstance { requestBudget: RequestBudget }
}

/** Healow allows 250 requests per minute per practice, /token included; every caller takes from here first. */
export default fp(async (app) => {
  const limit = gatewayBudget(app.config.HEALOW_RATE_LIMIT_PER_MINUTE)
  if (app.store.kind === 'postgres') {
    // Instances sharing a PostgreSQL vault are one client at Healow: they must share its count too.
    const { openPostgresRequestBudget } = await import('../lib/budget/postgres.js')
    const shared = await openPostgresRequestBudget(app.config.databaseUrl, { limit })
    app.decorate('requestBudget', shared)
    app.addHook('onClose', async () => { await shared.close() })
  } else {
    app.decorate('requestBudget', new SlidingWindowBudget({ limit }))
  }
}, { name: 'request-budget', dependencies: ['config', 'store'] })
