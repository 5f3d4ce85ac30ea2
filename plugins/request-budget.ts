import fp from 'fastify-plugin'
import { SlidingWindowBudget, type RequestBudget } from '../lib/budget/sliding-window.js'
import { gatewayBudget } from '../lib/budget/gateway-share.js'
import { NO_METRICS, type MetricsRecorder } from '../lib/metrics.js'

/** The same budget, counting each decision per practice. */
function countedBudget (budget: RequestBudget, metrics: MetricsRecorder): RequestBudget {
  return {
    take: async (practiceId) => {
      const decision = await budget.take(practiceId)
      metrics.budget(practiceId, decision.ok ? 'granted' : 'refused')
      return decision
    },
    takeSpare: async (practiceId, keepFree) => {
      const decision = await budget.takeSpare(practiceId, keepFree)
      metrics.budget(practiceId, decision.ok ? 'granted' : 'refused')
      return decision
    },
    holdOff: async (practiceId, ms) => {
      metrics.budget(practiceId, 'upstream_429')
      await budget.holdOff(practiceId, ms)
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance { requestBudget: RequestBudget }
}

/** Healow allows 250 requests per minute per practice, /token included; every caller takes from here first. */
export default fp(async (app) => {
  const limit = gatewayBudget(app.config.HEALOW_RATE_LIMIT_PER_MINUTE)
  let budget: RequestBudget
  if (app.store.kind === 'postgres') {
    // Instances sharing a PostgreSQL vault are one client at Healow: they must share its count too.
    const { openPostgresRequestBudget } = await import('../lib/budget/postgres.js')
    const shared = await openPostgresRequestBudget(app.config.databaseUrl, { limit })
    budget = shared
    app.addHook('onClose', async () => { await shared.close() })
  } else {
    budget = new SlidingWindowBudget({ limit })
  }
  app.decorate('requestBudget', app.metrics === NO_METRICS ? budget : countedBudget(budget, app.metrics))
}, { name: 'request-budget', dependencies: ['config', 'store', 'metrics'] })
