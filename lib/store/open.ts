import { openSqliteStore } from './sqlite.js'
import type { Store } from './types.js'

/**
 * Opens the store that DATABASE_URL names; the PostgreSQL client is loaded only when it is used.
 * `setting` is the one an operator changes if the database's directory is unusable.
 */
export async function openStore (databaseUrl: string, setting = 'DATABASE_URL'): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) return openSqliteStore(databaseUrl.slice('sqlite:'.length), setting)
  const { openPostgresStore } = await import('./postgres.js')
  return await openPostgresStore(databaseUrl)
}
