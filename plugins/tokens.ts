import fp from 'fastify-plugin'
import { RateLimitedError } from '../lib/errors.js'
import { TokenRefresher } from '../lib/tokens/refresher.js'

declare module 'fastify' {
  interface FastifyInstance { tokens: TokenRefresher }
}

export interface TokenRefresherPluginOptions {
  /** Waits between attempts of one refresh; the default suits Healow, tests of outages shorten it. */
  retryDelaysMs?: number[]
}

export default fp<TokenRefresherPluginOptions>(async (app, { retryDelaysMs }) => {
  const { config } = app
  const refresher = new TokenRefresher({
    vault: app.vault,
    store: app.store,
    client: app.healowTokenClient,
    log: app.log,
    marginMs: config.TOKEN_REFRESH_MARGIN_SECONDS * 1000,
    leaseTtlMs: config.REFRESH_LEASE_SECONDS * 1000,
    callerWaitMs: config.TOKEN_REQUEST_TIMEOUT_MS,
    retryDelaysMs,
    metrics: app.metrics,
    reconnectUrl: (practiceId) => `${config.PUBLIC_URL}/healow/connect?tenant=${encodeURIComponent(practiceId)}`,
    // /token calls count against the practice's 250 per minute at Healow, like FHIR calls.
    beforeTokenCall: async (practiceId) => {
      const decision = await app.requestBudget.take(practiceId)
      if (!decision.ok) throw new RateLimitedError(decision.retryAfterMs)
    }
  })
  app.decorate('tokens', refresher)
  const idleMs = config.REFRESH_KEEPALIVE_DAYS * 86_400_000
  const timer = setInterval(() => { void refresher.keepAlive(idleMs) }, 3_600_000).unref()
  app.addHook('onReady', async () => { void refresher.keepAlive(idleMs).catch((err) => app.log.warn({ err }, 'keep-alive failed')) })
  // Runs before the store closes (hooks of later plugins first): in-flight refreshes are committed.
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await refresher.settle()
  })
}, { name: 'tokens', dependencies: ['config', 'store', 'vault', 'healow-token-client', 'request-budget', 'metrics'] })
