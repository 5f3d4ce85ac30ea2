import path from 'node:path'
import { openStore } from '../../plugins/store.js'
import type { Store } from '../../plugins/store/types.js'
import { tempDir } from './app.js'
import { freshPostgresDatabase } from './postgres.js'

type Test = Parameters<typeof tempDir>[0]

export interface StoreUnderTest {
  name: string
  /** A DATABASE_URL for a fresh, empty database. */
  databaseUrl (t: Test): Promise<string>
}

/** Every store the storage-level suites run against. */
export const storesUnderTest: StoreUnderTest[] = [
  { name: 'sqlite', databaseUrl: async (t) => `sqlite:${path.join(tempDir(t), 'store.db')}` },
  { name: 'postgres', databaseUrl: freshPostgresDatabase }
]

export async function openTestStore (t: Test, under: StoreUnderTest): Promise<Store> {
  const store = await openStore(await under.databaseUrl(t))
  t.teardown(() => store.close())
  return store
}
