import Database from 'libsql'
import path from 'node:path'
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { statSync } from 'node:fs'
import { openStore } from '../../lib/store/open.js'
import { tempDir } from '../helpers/app.js'
import { openTestStore, storesUnderTest } from '../helpers/stores.js'

const HOLDER_PROCESS = fileURLToPath(new URL('../helpers/lease-holder-process.ts', import.meta.url))

const connection = (id: string, now: number) => ({
  id,
  practiceId: 'JAFJCD',
  fhirBase: 'https://fhir4.healow.com/fhir/r4/JAFJCD',
  patientId: 'p1',
  scope: 'openid',
  tokens: 'ciphertext',
  accessExpiresAt: now + 3600_000,
  refreshable: true,
  createdAt: now
})

for (const under of storesUnderTest) {
  t.test(`${under.name}: connections`, async (t) => {
    const store = await openTestStore(t, under)
    const now = Date.now()
    await store.connections.insert(connection('c1', now))
    const row = await store.connections.get('c1')
    t.match(row, { id: 'c1', status: 'active', keyHash: null, tokenVersion: 1, refreshable: true, lastRefreshAt: null })
    t.equal(await store.connections.get('nope'), null)

    t.ok(await store.connections.saveTokens('c1', 1, { tokens: 'v2', accessExpiresAt: now + 1, refreshable: true, at: now }), 'first writer wins')
    t.notOk(await store.connections.saveTokens('c1', 1, { tokens: 'v2b', accessExpiresAt: now + 1, refreshable: true, at: now }), 'a stale writer loses')
    t.match(await store.connections.get('c1'), { tokens: 'v2', tokenVersion: 2, lastRefreshAt: now })

    await store.connections.setStatus('c1', 'reauth_required', 'invalid_grant', now)
    t.match(await store.connections.get('c1'), { status: 'reauth_required', lastError: 'invalid_grant' })
    t.ok(await store.connections.delete('c1'))
    t.notOk(await store.connections.delete('c1'))
  })

  t.test(`${under.name}: allTokens lists exactly each connection's id and ciphertext`, async (t) => {
    const store = await openTestStore(t, under)
    const now = Date.now()
    await store.connections.insert(connection('c1', now))
    await store.connections.insert({ ...connection('c2', now), tokens: 'other' })
    // Nothing beyond the two columns: the rekey writes back what it reads.
    t.same((await store.connections.allTokens()).sort((x, y) => x.id.localeCompare(y.id)), [{ id: 'c1', tokens: 'ciphertext' }, { id: 'c2', tokens: 'other' }])
  })

  t.test(`${under.name}: connections page newest first, without gaps or repeats`, async (t) => {
    const store = await openTestStore(t, under)
    const now = Date.now()
    // Two share a creation time: the id breaks the tie, so the page boundary cannot drop one.
    for (const [id, at] of [['a', now], ['b', now], ['c', now - 10], ['d', now + 10], ['e', now - 20]] as const) {
      await store.connections.insert(connection(id, at))
    }
    t.equal(await store.connections.count(), 5)
    const seen: string[] = []
    let after = null
    for (let page = 0; page < 4; page++) {
      const rows = await store.connections.listNewestFirst(after, 2)
      if (rows.length === 0) break
      seen.push(...rows.map((r) => r.id))
      const last = rows[rows.length - 1]!
      after = { createdAt: last.createdAt, id: last.id }
    }
    t.same(seen, ['d', 'b', 'a', 'c', 'e'])
  })

  t.test(`${under.name}: handoffs and pending authorizations are single use and expire`, async (t) => {
    const store = await openTestStore(t, under)
    const now = Date.now()
    await store.connections.insert(connection('c2', now))
    await store.handoffs.create('h1', 'c2', now + 1000)
    await store.handoffs.create('h2', 'c2', now - 1)
    const claims = await Promise.all([1, 2, 3].map(() => store.handoffs.consume('h1', now)))
    t.same(claims.filter(Boolean), ['c2'], 'exactly one claim wins')
    t.equal(await store.handoffs.consume('h2', now), null, 'expired')

    await store.pendingAuthorizations.create('s1', { practiceId: 'JAFJCD', returnTo: null, expiresAt: now + 1000 })
    t.same(await store.pendingAuthorizations.consume('s1', now), { practiceId: 'JAFJCD', returnTo: null, expiresAt: now + 1000 })
    t.equal(await store.pendingAuthorizations.consume('s1', now), null, 'replay finds nothing')
  })

  t.test(`${under.name}: refresh leases exclude, expire and are released`, async (t) => {
    const store = await openTestStore(t, under)
    const now = Date.now()
    t.ok(await store.refreshLeases.acquire('c', 'a', now, 1000))
    t.notOk(await store.refreshLeases.acquire('c', 'b', now, 1000), 'held')
    t.ok(await store.refreshLeases.acquire('c', 'b', now + 1001, 1000), 'a crashed holder expires')
    await store.refreshLeases.release('c', 'a')
    t.notOk(await store.refreshLeases.acquire('c', 'a', now + 1002, 1000), 'only the owner releases')
    await store.refreshLeases.release('c', 'b')
    t.ok(await store.refreshLeases.acquire('c', 'a', now + 1003, 1000))
  })

  t.test(`${under.name}: a lease dies with the process that held it, long before it expires`, async (t) => {
    const databaseUrl = await under.databaseUrl(t)
    const store = await openStore(databaseUrl)
    t.teardown(() => store.close())
    const holder = spawn(process.execPath, ['--import=tsx', HOLDER_PROCESS, databaseUrl, 'c'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = once(holder, 'exit')
    t.teardown(() => { holder.kill('SIGKILL') })
    const [said] = await once(holder.stdout!, 'data') as [Buffer]
    t.equal(said.toString().trim(), 'held', 'the other process holds the lease for an hour')
    t.notOk(await store.refreshLeases.acquire('c', 'survivor', Date.now(), 1000), 'held while its holder lives')
    holder.kill('SIGKILL')
    await exited
    const killedAt = Date.now()
    let taken = false
    while (!taken && Date.now() - killedAt < 2000) taken = await store.refreshLeases.acquire('c', 'survivor', Date.now(), 1000)
    t.ok(taken, `taken over ${Date.now() - killedAt} ms after its holder was killed`)
  })

  t.test(`${under.name}: directory snapshot round-trips`, async (t) => {
    const store = await openTestStore(t, under)
    t.equal(await store.directory.loadSnapshot(), null)
    const snapshot = { fetchedAt: new Date().toISOString(), source: 'x', practicesJson: '[{"id":"A"}]' }
    await store.directory.saveSnapshot(snapshot)
    await store.directory.saveSnapshot({ ...snapshot, source: 'y' })
    t.same(await store.directory.loadSnapshot(), { fetchedAt: snapshot.fetchedAt, source: 'y', practices: [{ id: 'A' }] })
  })
}

// The SQLite driver is a native module shipped prebuilt per platform: this fails when the binary
// for this machine is missing or does not load on this Node version.
t.test('sqlite: the native driver loads on this Node and the store file stays in WAL mode', async (t) => {
  const file = path.join(tempDir(t), 'wal.db')
  const store = await openStore(`sqlite:${file}`)
  await store.connections.insert(connection('c1', Date.now()))
  await store.close()
  const db = new Database(file)
  t.teardown(() => db.close())
  t.match(db.prepare('PRAGMA journal_mode').get(), { journal_mode: 'wal' }, 'WAL lets readers go on while the writer writes')
  t.match(db.prepare('SELECT count(*) AS n FROM connections').get(), { n: 1 })
})

t.test('sqlite: the directory\'s stored copy is written compressed, and a copy written as text before still loads', async (t) => {
  const file = path.join(tempDir(t), 'snapshot.db')
  const store = await openStore(`sqlite:${file}`)
  t.teardown(() => store.close())
  const practices = Array.from({ length: 2000 }, (_, n) => ({ id: `P${n}`, name: `Practice ${n}`, fhirBase: `https://fhir4.healow.com/fhir/r4/P${n}` }))
  const practicesJson = JSON.stringify(practices)
  await store.directory.saveSnapshot({ fetchedAt: '2026-12-01T00:00:00.000Z', source: 'compressed', practicesJson })
  const db = new Database(file)
  t.teardown(() => db.close())
  const stored = db.prepare('SELECT practices FROM directory_snapshot').get() as { practices: unknown }
  t.ok(stored.practices instanceof Uint8Array, 'stored as bytes')
  const size = (stored.practices as Uint8Array).byteLength
  t.ok(size < practicesJson.length / 4, `${size} bytes for ${practicesJson.length} of JSON`)
  t.same(await store.directory.loadSnapshot(), { fetchedAt: '2026-12-01T00:00:00.000Z', source: 'compressed', practices })

  db.prepare('UPDATE directory_snapshot SET practices = ?, source = ?').run(practicesJson, 'text')
  t.same(await store.directory.loadSnapshot(), { fetchedAt: '2026-12-01T00:00:00.000Z', source: 'text', practices })
})

t.test('sqlite: the database, its WAL and shared-memory files are 0600 in a 0700 directory', async (t) => {
  const previous = process.umask(0o022)
  t.teardown(() => { process.umask(previous) })
  const file = path.join(tempDir(t), 'new', 'vault.db')
  const store = await openStore(`sqlite:${file}`)
  t.teardown(() => store.close())
  await store.connections.insert(connection('c9', Date.now()))
  const modeOf = (p: string) => (statSync(p).mode & 0o777).toString(8)
  t.equal(modeOf(path.dirname(file)), '700', 'the directory it created')
  for (const name of [file, `${file}-wal`, `${file}-shm`]) t.equal(modeOf(name), '600', path.basename(name))
})
