import fp from 'fastify-plugin'
import { openSqliteStore } from './store/sqlite.js'
import type { Store } from './store/types.js'

export type { Store } from './store/types.js'

/** Opens the store that DATABASE_URL names; `setting` is the one an operator changes if its directory is unusable. */
export async function openStore (databaseUrl: string, setting = 'DATABASE_URL'): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) return openSqliteStore(databaseUrl.slice('sqlite:'.length), setting)
  const { openPostgresStore } = await import('./store/postgres.js')
  return await openPostgresStore(databaseUrl)
}

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
