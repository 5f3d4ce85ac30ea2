import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import tap, { type Test as TapTest } from 'tap'
import { openStore } from '../../lib/store/open.js'
import type { Store } from '../../lib/store/types.js'
import { tempDir } from './app.js'
import { freshPostgresDatabase } from './postgres.js'

type Test = Parameters<typeof tempDir>[0]

export interface StoreUnderTest {
  name: string
  /** A DATABASE_URL for a fresh, empty database. */
  databaseUrl (t: Test): Promise<string>
  /** Everything the database holds, as text: where a secret stored in clear would show. */
  storedText (databaseUrl: string): Promise<string>
}

/** Every store the storage-level suites run against. */
export const storesUnderTest: StoreUnderTest[] = [
  {
    name: 'sqlite',
    databaseUrl: async (t) => `sqlite:${path.join(tempDir(t), 'store.db')}`,
    // The raw bytes of the database file and its -wal/-shm/-journal companions: free pages and
    // the write-ahead log keep what a SELECT no longer shows.
    storedText: async (databaseUrl) => {
      const file = databaseUrl.slice('sqlite:'.length)
      return readdirSync(path.dirname(file)).filter((name) => name.startsWith(path.basename(file)))
        .map((name) => readFileSync(path.join(path.dirname(file), name)).toString('latin1')).join('\n')
    }
  },
  {
    name: 'postgres',
    databaseUrl: freshPostgresDatabase,
    // Every row of every table, each as PostgreSQL's text form of the whole row.
    storedText: async (databaseUrl) => {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      try {
        const { rows: tables } = await client.query<{ name: string }>("SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public'")
        // One query at a time: a pg client runs them in sequence anyway, and queuing them is deprecated.
        const dumps: string[] = []
        for (const { name } of tables) {
          for (const { row } of (await client.query<{ row: string }>(`SELECT t::text AS row FROM ${name} AS t`)).rows) dumps.push(row)
        }
        return dumps.join('\n')
      } finally {
        await client.end()
      }
    }
  }
]

/** Declares one test per store, named `${store}: ${name}`. */
export function testOnEachStore (name: string, body: (t: TapTest, under: StoreUnderTest) => Promise<void>): void {
  for (const under of storesUnderTest) tap.test(`${under.name}: ${name}`, async (t) => { await body(t, under) })
}

export async function openTestStore (t: Test, under: StoreUnderTest): Promise<Store> {
  const store = await openStore(await under.databaseUrl(t))
  t.teardown(() => store.close())
  return store
}
