import t from 'tap'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'
import { pullRecords, syncStatus, syncToEnd, waitForSync } from '../helpers/sync.js'
import type { GatewayEvent } from '../../lib/events.js'

t.test('a Healow outage mid-sync: the run stops as resumable, and the next start continues it from its checkpoint', async (t) => {
  const stack = await startStack(t, {
    simulator: { resourcesPerType: 60, faults: { latencyMs: 5 } },
    env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'error' }),
    build: { sync: { retryDelaysMs: [20, 20] } }
  })
  const events: GatewayEvent[] = []
  stack.gw.app.events.subscribe((e) => { events.push(e) })
  const { connectionId, key } = await connectPatient(stack)
  const { url } = stack.gw
  t.equal((await fetch(`${url}/connections/${connectionId}/sync`, { method: 'POST', headers: bearer(key) })).status, 202)
  await waitForSync(url, connectionId, key, (s) => s.progress.requests >= 10)
  stack.sim.setFaults({ errorRate: 1 })
  const failed = await waitForSync(url, connectionId, key, (s) => s.status !== 'running')
  t.match(failed, { status: 'failed', lastError: /Healow answered 50\d; the sync continues from its last checkpoint later/ })
  t.match(events, [{ type: 'sync.failed', connectionId, code: 'upstream_unavailable' }])
  t.notMatch(JSON.stringify(events), /Observation\/|"name"/, 'events carry ids and counts only')

  stack.sim.setFaults({ errorRate: 0 })
  const resumed = await syncToEnd(url, connectionId, key)
  t.equal(resumed.status, 'succeeded')
  t.equal(resumed.syncId, failed.syncId, 'the same run, continued')
  t.ok(resumed.progress.resources >= failed.progress.resources, 'its counts carried on')
  const pulled = await pullRecords(url, connectionId, key, '0', 1000)
  t.equal(pulled.resources.length, pulled.versions.size, 'nothing stored twice')
  t.equal(pulled.resources.length, resumed.progress.resources)
  t.match(events[1], { type: 'sync.succeeded', connectionId, syncId: resumed.syncId, resources: resumed.progress.resources, skippedTypes: [] })
})

t.test('the refresh token dies mid-sync: the sync fails with reauth_required and the connection stops syncing', async (t) => {
  const stack = await startStack(t, {
    simulator: { resourcesPerType: 60, faults: { latencyMs: 5 } },
    env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'error' })
  })
  const { connectionId, key } = await connectPatient(stack)
  const { url } = stack.gw
  t.equal((await fetch(`${url}/connections/${connectionId}/sync`, { method: 'POST', headers: bearer(key) })).status, 202)
  await waitForSync(url, connectionId, key, (s) => s.progress.requests >= 5)
  stack.sim.setFaults({ invalidGrantOnNextRefresh: true })
  stack.sim.expireAccessTokens()
  const failed = await waitForSync(url, connectionId, key, (s) => s.status !== 'running')
  t.match(failed, { status: 'failed', lastError: /log in at Healow again/ })
  t.equal((await stack.gw.app.vault.record(connectionId))?.status, 'reauth_required')
  const again = await fetch(`${url}/connections/${connectionId}/sync`, { method: 'POST', headers: bearer(key) })
  t.equal(again.status, 401)
  t.match(await again.json(), { code: 'reauth_required' })
  t.equal((await syncStatus(url, connectionId, key)).syncId, failed.syncId, 'no new run')
})
