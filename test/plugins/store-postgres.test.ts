import pg from 'pg'
import t from 'tap'
import { openPostgresStore } from '../../lib/store/postgres.js'
import { MIGRATIONS } from '../../lib/store/postgres-migrations.js'
import type { Store } from '../../lib/store/types.js'
import { freshPostgresDatabase } from '../helpers/postgres.js'
import { openTestStore, storesUnderTest } from '../helpers/stores.js'

type Test = Parameters<typeof freshPostgresDatabase>[0]

async function openPool (t: Test, url: string): Promise<Store> {
  const store = await openPostgresStore(url)
  t.teardown(() => store.close())
  return store
}

const connection = (id: string, now: number, refreshable = true) => ({
  id,
  practiceId: 'JAFJCD',
  fhirBase: 'https://fhir4.healow.com/fhir/r4/JAFJCD',
  patientId: 'p1',
  scope: 'openid',
  tokens: `ciphertext-${id}`,
  accessExpiresAt: now + 3600_000,
  refreshable,
  createdAt: now
})

t.test('instances starting at once apply each migration once', async (t) => {
  const url = await freshPostgresDatabase(t)
  const stores = await Promise.all(Array.from({ length: 6 }, async () => await openPool(t, url)))
  t.equal(stores.length, 6, 'every instance started')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')
  t.same(rows.map((r) => r.version), MIGRATIONS.map((_, index) => index + 1))
  await openPool(t, url)
  t.equal((await client.query('SELECT 1 FROM schema_migrations')).rowCount, MIGRATIONS.length, 'a restart applies nothing again')
})

t.test('epoch milliseconds come back as numbers, without touching pg globally', async (t) => {
  const store = await openPool(t, await freshPostgresDatabase(t))
  const now = Date.now()
  await store.connections.insert(connection('c1', now))
  const row = await store.connections.get('c1')
  t.equal(row?.createdAt, now)
  t.equal(row?.accessExpiresAt, now + 3600_000)
  t.equal(pg.types.getTypeParser(pg.types.builtins.INT8)('5'), '5', "pg's global BIGINT parser is unchanged")
})

t.test('two pools racing for the same leases: exactly one winner per round', async (t) => {
  const url = await freshPostgresDatabase(t)
  const [a, b] = await Promise.all([openPool(t, url), openPool(t, url)])
  const now = Date.now()
  const rounds = await Promise.all(Array.from({ length: 100 }, async (_, round) => {
    const id = `race-${round}`
    // Both sides try twice, so a loser retrying while the winner holds the lease is covered too.
    const attempts = await Promise.all([
      a.refreshLeases.acquire(id, 'instance-a', now, 30_000), b.refreshLeases.acquire(id, 'instance-b', now, 30_000),
      b.refreshLeases.acquire(id, 'instance-b', now, 30_000), a.refreshLeases.acquire(id, 'instance-a', now, 30_000)
    ])
    const aWon = attempts[0] || attempts[3]
    const bWon = attempts[1] || attempts[2]
    return Number(aWon) + Number(bWon)
  }))
  t.same(rounds.filter((winners) => winners !== 1), [], 'no round had zero or two winners')
})

/** Runs the same sequence on a store and records every answer, so two stores can be compared. */
async function replay (store: Store): Promise<unknown[]> {
  const now = 1_700_000_000_000
  const answers: unknown[] = []
  const withoutClock = (row: Awaited<ReturnType<Store['connections']['get']>>) => row && { ...row, updatedAt: 'masked' }
  await store.connections.insert(connection('a', now))
  await store.connections.insert(connection('b', now + 10))
  await store.connections.insert(connection('c', now + 20, false))
  await store.connections.setKeyHash('a', 'hash-a')
  await store.connections.recordError('b', 'timeout', now + 30)
  answers.push(await store.connections.listStale(now + 15, 10), await store.connections.listStale(now + 100, 1))
  answers.push(await store.connections.saveTokens('a', 1, { tokens: 'a2', accessExpiresAt: now + 7200_000, refreshable: true, scope: 'openid fhirUser', at: now + 40 }))
  answers.push(await store.connections.listStale(now + 35, 10))
  await store.connections.replaceTokens([{ id: 'a', tokens: 'a3' }, { id: 'c', tokens: 'c3' }, { id: 'gone', tokens: 'x' }])
  answers.push((await store.connections.allTokens()).sort((x, y) => x.id.localeCompare(y.id)))
  answers.push(...(await Promise.all(['a', 'b', 'c'].map(async (id) => await store.connections.get(id)))).map(withoutClock))

  await store.handoffs.create('h-live', 'b', now + 1000)
  await store.handoffs.create('h-old', 'b', now - 1)
  await store.pendingAuthorizations.create('s-old', { practiceId: 'JAFJCD', returnTo: 'https://app.example', expiresAt: now - 1 })
  await store.refreshLeases.acquire('b', 'x', now - 5000, 1000)
  await store.sweep(now)
  answers.push(await store.handoffs.consume('h-old', now - 10), await store.pendingAuthorizations.consume('s-old', now - 10))
  answers.push(await store.refreshLeases.acquire('b', 'y', now - 4500, 1000), 'a swept lease is free even before its expiry')
  answers.push(await store.connections.delete('b'), await store.handoffs.consume('h-live', now), 'deleting a connection drops its handoffs')
  return answers
}

t.test('answers exactly as the SQLite reference does', async (t) => {
  const [sqlite, postgres] = await Promise.all(['sqlite', 'postgres'].map(async (name) =>
    await openTestStore(t, storesUnderTest.find((under) => under.name === name)!)))
  t.same(await replay(postgres), await replay(sqlite))
})
