import fp from 'fastify-plugin'
import { openStore } from '../lib/store/open.js'
import type { Store } from '../lib/store/types.js'

declare module 'fastify' {
  interface FastifyInstance { store: Store }
}

export default fp(async (app) => {
  // Without DATABASE_URL the SQLite file lives in DATA_DIR.
  const store = await openStore(app.config.databaseUrl, app.config.DATABASE_URL ? 'DATABASE_URL' : 'DATA_DIR')
  app.decorate('store', store)
  app.readiness.register('database', async () => {
    await store.ping()
    return { ok: true }
  })
  // Expired one-time codes and leases are useless; keep the tables small.
  const sweeper = setInterval(() => { store.sweep(Date.now()).catch((err) => app.log.warn({ err }, 'store sweep failed')) }, 60_000).unref()
  app.addHook('onClose', async () => {
    clearInterval(sweeper)
    await store.close()
  })
}, { name: 'store', dependencies: ['config', 'readiness'] })
