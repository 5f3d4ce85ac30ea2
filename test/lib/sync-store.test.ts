import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { TokenCipher } from '../../lib/tokens/cipher.js'
import { RecordSealer } from '../../lib/sync/sealing.js'
import { openTestStore, testOnEachStore } from '../helpers/stores.js'
import type { Store } from '../../lib/store/types.js'

async function withConnection (store: Store, id: string): Promise<void> {
  await store.connections.insert({ id, practiceId: 'P', fhirBase: 'https://h/fhir/P', patientId: 'pat', scope: '', tokens: 'x', accessExpiresAt: 0, refreshable: true, createdAt: 0 })
}

testOnEachStore('a cursor never skips or repeats a change while pages are written concurrently; deletions come after a complete run only', async (t, under) => {
  const store = await openTestStore(t, under)
  const sealer = new RecordSealer(new TokenCipher(randomBytes(32)))
  await withConnection(store, 'c1')
  await store.sync.createRun({ id: 'r1', connectionId: 'c1', startedAt: 1, progress: '{}' })
  const resource = (n: number, version = '1') => ({ resourceType: 'Observation', id: `obs-${n}`, meta: { versionId: version } })

  // 20 pages of 10, written at once, while a client pulls by cursor.
  const writes = Promise.all(Array.from({ length: 20 }, async (_, page) => {
    await store.sync.writePage('c1', 'r1', { changed: Array.from({ length: 10 }, (_, i) => sealer.seal('c1', resource(page * 10 + i))), seen: [] })
  }))
  const pulled: string[] = []
  let cursor = 0
  let done = false
  void writes.then(() => { done = true })
  for (;;) {
    const last = done
    const rows = await store.sync.changes('c1', cursor, 7)
    for (const row of rows) {
      pulled.push(sealer.openRef('c1', row.ref).id)
      cursor = row.seq
    }
    if (rows.length === 0 && last) break
    if (rows.length === 0) await sleep(1)
  }
  t.equal(pulled.length, 200, 'every change once')
  t.equal(new Set(pulled).size, 200, 'none twice')

  // The next run sees all but obs-0 and updates obs-1: only those two become changes.
  await store.sync.createRun({ id: 'r2', connectionId: 'c1', startedAt: 2, progress: '{}' })
  const existing = await store.sync.existing('c1', [sealer.digest('c1', 'Observation', 'obs-1')])
  t.match([...existing.values()], [{ version: '1', deleted: false }])
  await store.sync.writePage('c1', 'r2', {
    changed: [sealer.seal('c1', resource(1, '2'))],
    seen: Array.from({ length: 198 }, (_, i) => ({ type: 'Observation', idDigest: sealer.digest('c1', 'Observation', `obs-${i + 2}`) })),
    checkpoint: { step: 'type:Observation', state: sealer.sealCheckpoint('r2', 'type:Observation', { next: null, done: true }) }
  })
  t.equal(await store.sync.deleteUnseen('c1', 'r2', ['Condition']), 0, 'a type the run did not complete keeps its records')
  t.equal(await store.sync.deleteUnseen('c1', 'r2', ['Observation']), 1)
  const delta = await store.sync.changes('c1', cursor, 100)
  t.same(delta.map((row) => [sealer.openRef('c1', row.ref).id, row.body === null]), [['obs-1', false], ['obs-0', true]])
  t.same(sealer.openCheckpoint('r2', 'type:Observation', (await store.sync.checkpoints('r2')).get('type:Observation')!), { next: null, done: true })

  // One instance at a time holds a connection's sync; a lapsed lease can be taken over.
  t.ok(await store.sync.acquireLease('c1', 'a', 1000, 500))
  t.notOk(await store.sync.acquireLease('c1', 'b', 1200, 500), 'held by a')
  t.ok(await store.sync.acquireLease('c1', 'a', 1200, 500), 'a renews')
  t.ok(await store.sync.acquireLease('c1', 'b', 1800, 500), 'lapsed: b takes over')

  // Deleting the connection deletes its records, runs and lease.
  t.ok(await store.connections.delete('c1'))
  t.same(await store.sync.changes('c1', 0, 10), [])
  t.equal(await store.sync.latestRun('c1'), null)
  await withConnection(store, 'c1')
  t.ok(await store.sync.acquireLease('c1', 'c', 1800, 500), "b's lease went with the connection")
})
