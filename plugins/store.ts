import fp from 'fastify-plugin'
import { openSqliteStore } from '../lib/store/sqlite.js'
import type { Store } from '../lib/store/types.js'

export type { Store } from '../lib/store/types.js'

/** Opens the store that DATABASE_URL names. */
export async function openStore (databaseUrl: string): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) return openSqliteStore(databaseUrl.slice('sqlite:'.length))
  const { openPostgresStore } = await import('../lib/store/postgres.js')
  return await openPostgresStore(databaseUrl)
}

declare module 'fastify' {
  interface FastifyInstance { store: Store }
}

export default fp(async (app) => {
  const store = await openStore(app.config.databaseUrl)
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
