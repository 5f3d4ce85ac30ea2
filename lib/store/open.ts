import { openSqliteStore } from './sqlite.js'
import type { Store } from './types.js'

/** Opens the store that DATABASE_URL names; the PostgreSQL client is loaded only when it is used. */
export async function openStore (databaseUrl: string): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) return openSqliteStore(databaseUrl.slice('sqlite:'.length))
  const { openPostgresStore } = await import('./postgres.js')
  return await openPostgresStore(databaseUrl)
}
