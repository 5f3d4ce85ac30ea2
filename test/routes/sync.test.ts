import t from 'tap'
import { randomBytes } from 'node:crypto'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'
import { testOnEachStore } from '../helpers/stores.js'
import { pageThroughProxy, pullRecords, syncStatus, syncToEnd, waitForSync } from '../helpers/sync.js'
import { TokenCipher } from '../../lib/tokens/cipher.js'
import { PATIENT_READ_RESOURCES } from '../../lib/tokens/scopes.js'

const SEARCHED = PATIENT_READ_RESOURCES.filter((type) => type !== 'Binary')

testOnEachStore('a 2,000-resource patient: one sync stores exactly what paging returns, a second yields exactly the upstream changes; nothing in clear in the database', async (t, under) => {
  const stack = await startStack(t, {
    store: under,
    simulator: { resourcesPerType: 490, pageSize: 50 },
    env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn', SYNC_INTERVAL_HOURS: '0' })
  })
  const practice = stack.sim.practices[0]
  const { connectionId, key } = await connectPatient(stack)
  const { url } = stack.gw

  const expected = await pageThroughProxy(url, connectionId, key, practice.patientId, SEARCHED)
  const types = new Set([...expected.keys()].map((ref) => ref.split('/')[0]))
  t.ok(expected.size >= 2000 && types.size >= 15, `${expected.size} resources over ${types.size} types`)
  stack.sim.resetCounters()

  const first = await syncToEnd(url, connectionId, key)
  t.equal(first.status, 'succeeded', JSON.stringify(first.lastError))
  const counters = stack.sim.counters()
  t.equal(counters.rateLimited, 0, 'no Healow 429')
  t.equal(first.progress.requests, counters.fhir[practice.id], 'every request the sync counted reached Healow, and no other')
  t.same(Object.entries(first.progress.types).filter(([, p]) => p.status !== 'done'), [], 'every type done')

  const pulled = await pullRecords(url, connectionId, key, '0', 1000)
  t.equal(pulled.resources.length, pulled.versions.size, 'each resource stored once')
  t.same([...pulled.versions.entries()].sort(), [...expected.entries()].sort(), 'the same ids and versions as paging through /fhir/{id}')
  t.same(pulled.deleted, [])

  const again = await pullRecords(url, connectionId, key, pulled.cursor)
  t.same([again.resources.length, again.deleted.length, again.cursor], [0, 0, pulled.cursor], 'nothing new at the cursor')

  // Upstream changes between two syncs.
  const changed = stack.sim.changeRecords(practice.id, {
    add: { Observation: 3, Condition: 1 },
    update: { Observation: 2, Encounter: 1 },
    delete: { Observation: 1, Immunization: 2 }
  })
  const second = await syncToEnd(url, connectionId, key)
  t.equal(second.status, 'succeeded')
  t.match(second.progress, { changed: 7, deleted: 3 })
  const delta = await pullRecords(url, connectionId, key, pulled.cursor)
  t.same([...delta.versions.keys()].sort(), [...changed.added, ...changed.updated].sort(), 'exactly the added and updated resources')
  for (const ref of changed.updated) t.equal(delta.versions.get(ref), '2', `${ref} at its new version`)
  t.same(delta.deleted.sort(), changed.deleted.sort(), 'exactly the deleted ones, as deletions')
  const observations = await pullRecords(url, connectionId, key, pulled.cursor, 500, 'Observation')
  t.same([...observations.versions.keys()].sort(), [...delta.versions.keys()].filter((r) => r.startsWith('Observation/')).sort(), 'type= filters')

  // No record's plain text in the database: a name, ids, codes and display texts.
  const patient = pulled.resources.find((r) => r.resourceType === 'Patient') as unknown as { name: Array<{ family: string }> }
  const observation = pulled.resources.find((r) => r.resourceType === 'Observation') as unknown as { id: string, code: { coding: Array<{ code: string, display: string }> } }
  const condition = pulled.resources.find((r) => r.resourceType === 'Condition') as unknown as { id: string, code: { coding: Array<{ code: string, display: string }> } }
  const stored = await under.storedText(stack.gw.config.databaseUrl)
  for (const text of [patient.name[0].family, observation.id, condition.id, condition.code.coding[0].code, observation.code.coding[0].display, condition.code.coding[0].display, 'effectiveDateTime']) {
    // Standing on its own, not inside a longer run of base64 or hex: a 5-letter name turns up inside
    // megabytes of sealed records now and then by chance.
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const found = new RegExp(`(?<![A-Za-z0-9+/=_-])${escaped}(?![A-Za-z0-9+/=_-])`).exec(stored)
    t.notOk(found, `"${text}" is not in the database${found ? `: …${stored.slice(Math.max(0, found.index - 60), found.index + 60)}…` : ''}`)
  }

  // A new vault key re-seals the records; they read the same.
  await stack.gw.app.vault.rekey(new TokenCipher(randomBytes(32)))
  const resealed = await pullRecords(url, connectionId, key, '0', 1000)
  const unchanged = [...pulled.versions.entries()]
    .filter(([ref]) => !delta.versions.has(ref) && !changed.deleted.includes(ref))
  t.same([...resealed.versions.entries()].sort(), [...delta.versions.entries(), ...unchanged].sort(), 'the same records after rekey')

  // Disconnecting deletes the records with the connection.
  t.equal((await fetch(`${url}/connections/${connectionId}`, { method: 'DELETE', headers: bearer(key) })).status, 204)
  t.same(await stack.gw.app.store.sync.changes(connectionId, 0, 10), [])
})

t.test('$everything where the practice declares it; a refused type is skipped and named, and the sync goes on', async (t) => {
  const stack = await startStack(t, { simulator: { resourcesPerType: 30 }, env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn', SYNC_INTERVAL_HOURS: '0' }) })
  const [, everythingAt, , refusing] = stack.sim.practices
  const viaEverything = await connectPatient(stack, { practiceId: everythingAt.id })
  stack.sim.resetCounters()
  const done = await syncToEnd(stack.gw.url, viaEverything.connectionId, viaEverything.key)
  t.equal(done.status, 'succeeded')
  const { connectionId, key } = viaEverything
  const expected = await pageThroughProxy(stack.gw.url, connectionId, key, everythingAt.patientId, SEARCHED)
  const pulled = await pullRecords(stack.gw.url, viaEverything.connectionId, viaEverything.key)
  t.same([...pulled.versions.keys()].sort(), [...expected.keys()].sort(), '$everything stored the whole record')
  // metadata, the $everything pages (10 a page), Patient, and the 3 Binaries: no search per type.
  const resources = expected.size - 3
  t.ok(done.progress.requests <= 1 + Math.ceil((resources - 1) / 10) + 1 + 3, `${done.progress.requests} requests`)

  const refused = await connectPatient(stack, { practiceId: refusing.id })
  const partial = await syncToEnd(stack.gw.url, refused.connectionId, refused.key)
  t.equal(partial.status, 'succeeded', 'a refused type does not end the sync')
  t.match(partial.progress.types.Device, { status: 'skipped', error: /403/ })
  t.equal(partial.progress.types.Observation.status, 'done')
  t.equal((await pullRecords(stack.gw.url, refused.connectionId, refused.key, '0', 1000, 'Device')).resources.length, 0)
})

testOnEachStore('a read through /fhir/{id} of the same practice during a running sync is served within a second; never a Healow 429', async (t, under) => {
  // 30 a minute at Healow: the gateway spends 28, the sync 26 of them, so it waits for the next minute mid-way.
  const stack = await startStack(t, {
    store: under,
    simulator: { resourcesPerType: 60, quirks: { rateLimitPerMinute: 30 } },
    env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn', SYNC_INTERVAL_HOURS: '0', HEALOW_RATE_LIMIT_PER_MINUTE: '30' })
  })
  const practice = stack.sim.practices[0]
  const { connectionId, key } = await connectPatient(stack)
  const start = await fetch(`${stack.gw.url}/connections/${connectionId}/sync`, { method: 'POST', headers: bearer(key) })
  t.equal(start.status, 202)
  const second = await fetch(`${stack.gw.url}/connections/${connectionId}/sync`, { method: 'POST', headers: bearer(key) })
  t.equal((await second.json() as { syncId: string }).syncId, (await start.json() as { syncId: string }).syncId, 'a second request answers the running sync')
  // Until the sync has spent its share of the minute.
  await waitForSync(stack.gw.url, connectionId, key, (s) => s.progress.requests >= 24, 10_000)
  const status = await syncStatus(stack.gw.url, connectionId, key)
  t.equal(status.status, 'running')
  for (const path of [`/Observation?patient=${practice.patientId}`, `/Patient/${practice.patientId}`]) {
    const began = performance.now()
    const read = await fetch(`${stack.gw.url}/fhir/${connectionId}${path}`, { headers: bearer(key) })
    const ms = performance.now() - began
    t.equal(read.status, 200)
    t.ok(ms < 1000, `served in ${Math.round(ms)} ms while the sync runs`)
  }
  t.equal((await syncStatus(stack.gw.url, connectionId, key)).status, 'running', 'the sync is still waiting for budget')
  t.equal(stack.sim.counters().rateLimited, 0, 'no Healow 429')

  // The status stream while it runs.
  const events = await fetch(`${stack.gw.url}/connections/${connectionId}/sync/events`, { headers: bearer(key) })
  t.equal(events.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  const reader = events.body!.getReader()
  const { value } = await reader.read()
  t.match(Buffer.from(value!).toString(), /^event: progress\ndata: \{"status":"running"/)
  await reader.cancel()
})

t.test('the sync routes need the connection key; bad queries are 400 with a reason', async (t) => {
  const stack = await startStack(t, { env: { LOG_LEVEL: 'warn', SYNC_INTERVAL_HOURS: '0' } })
  const { connectionId, key } = await connectPatient(stack)
  const other = await connectPatient(stack)
  for (const [method, path] of [['POST', 'sync'], ['GET', 'sync'], ['GET', 'sync/events'], ['GET', 'records']]) {
    const res = await fetch(`${stack.gw.url}/connections/${connectionId}/${path}`, { method, headers: bearer(other.key) })
    t.equal(res.status, 401, `${method} ${path} with another connection's key`)
  }
  const idle = await syncStatus(stack.gw.url, connectionId, key)
  t.match(idle, { status: 'idle', syncId: null })
  for (const query of ['since=-1', 'since=abc', 'limit=0', 'limit=5000', 'type=observation']) {
    const res = await fetch(`${stack.gw.url}/connections/${connectionId}/records?${query}`, { headers: bearer(key) })
    t.equal(res.status, 400, query)
    t.match(await res.json(), { code: 'invalid_request', message: /querystring/ })
  }
})

t.test('a paging link to an origin that is not the practice\'s is not followed; the type is named, and nothing of it is deleted', async (t) => {
  // The simulator writes next links on its alias host; without FHIR_ALIAS_HOSTS that host is a stranger.
  const stack = await startStack(t, { simulator: { resourcesPerType: 30 }, env: { LOG_LEVEL: 'warn', SYNC_INTERVAL_HOURS: '0' } })
  const practice = stack.sim.practices[0]
  const { connectionId, key } = await connectPatient(stack)
  stack.sim.resetCounters()
  const done = await syncToEnd(stack.gw.url, connectionId, key)
  t.equal(done.status, 'succeeded')
  t.match(done.progress.types.Observation, { status: 'failed', resources: 10, error: /paging link led outside the practice/ })
  t.match(done.progress.types.Goal, { status: 'done' }, 'a type on one page is complete')
  // One request per searched type (its first page), metadata, Patient, and the Binaries: no page behind a link.
  const searched = Object.keys(done.progress.types).filter((type) => type !== 'Patient' && type !== 'Binary').length
  t.equal(stack.sim.counters().fhir[practice.id], searched + 1 + 1 + done.progress.types.Binary.resources)
  t.equal(done.progress.deleted, 0)
})
