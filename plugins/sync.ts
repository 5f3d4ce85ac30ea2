import fp from 'fastify-plugin'
import { systemClock, type Clock } from '../lib/sync/clock.js'
import { SyncService } from '../lib/sync/service.js'
import { RecordSealer } from '../lib/sync/sealing.js'
import { interactiveReserve } from '../lib/budget/gateway-share.js'

declare module 'fastify' {
  interface FastifyInstance {
    sync: SyncService
    /** Opens synced records (the vault's current key). */
    recordSealer: () => RecordSealer
  }
}

export interface SyncPluginOptions {
  /** Tests drive schedules through their own clock. */
  clock?: Clock
  /** Waits between attempts of one upstream request; tests of outages shorten them. */
  retryDelaysMs?: number[]
}

export default fp<SyncPluginOptions>(async (app, { clock = systemClock, retryDelaysMs }) => {
  const { config } = app
  const service = new SyncService({
    store: app.store,
    vault: app.vault,
    budget: app.requestBudget,
    events: app.events,
    clock,
    mode: config.mode,
    accessToken: async (id, rejected) => await app.tokens.accessToken(id, rejected === undefined ? {} : { rejected }),
    reconnectUrl: (practiceId) => `${config.PUBLIC_URL}/healow/connect?tenant=${encodeURIComponent(practiceId)}`,
    intervalMs: config.SYNC_INTERVAL_HOURS * 3_600_000,
    keepFree: interactiveReserve(config.HEALOW_RATE_LIMIT_PER_MINUTE),
    aliasOrigins: config.aliasOrigins,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    maxBinaryBytes: config.SYNC_MAX_BINARY_BYTES,
    leaseTtlMs: config.SYNC_LEASE_SECONDS * 1000,
    retryDelaysMs,
    log: app.log
  })
  app.decorate('sync', service)
  app.decorate('recordSealer', () => new RecordSealer(app.vault.recordCipher))
  // Interrupted runs are picked up on the first tick; a crashed instance's lease lapses after SYNC_LEASE_SECONDS.
  app.addHook('onReady', async () => { service.schedule(Math.min(60_000, config.SYNC_LEASE_SECONDS * 1000)) })
  app.addHook('onClose', async () => { await service.close() })
}, { name: 'sync', dependencies: ['config', 'store', 'vault', 'events', 'request-budget', 'tokens'] })
