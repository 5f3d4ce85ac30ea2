import fp from 'fastify-plugin'
import { SlidingWindowBudget, type RequestBudget } from './request-budget/sliding-window.js'

export type { BudgetDecision, RequestBudget } from './request-budget/sliding-window.js'

/**
 * The share of Healow's per-practice limit the gateway spends itself. The rest covers requests
 * that count at Healow but never pass through here: the browser's own /authorize redirects.
 */
export function gatewayBudget (healowLimitPerMinute: number): number {
  return Math.max(1, healowLimitPerMinute - Math.ceil(healowLimitPerMinute * 0.04))
}

declare module 'fastify' {
  interface FastifyInstance { requestBudget: RequestBudget }
}

/** Healow allows 250 requests per minute per practice, /token included; every caller takes from here first. */
export default fp(async (app) => {
  app.decorate('requestBudget', new SlidingWindowBudget({ limit: gatewayBudget(app.config.HEALOW_RATE_LIMIT_PER_MINUTE) }))
}, { name: 'request-budget', dependencies: ['config'] })
