import t from 'tap'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { startSimulator } from '../../simulator/index.js'
import { gatewaySettings } from '../../simulator/cli-options.js'
import { tempDir } from '../helpers/app.js'
import { connectPatient } from '../helpers/connect.js'
import { startGatewayProcess } from '../helpers/gateway-process.js'
import { testOnEachStore } from '../helpers/stores.js'
import { pullRecords, syncStatus, syncToEnd, waitForSync } from '../helpers/sync.js'

t.setTimeout(240_000)

testOnEachStore('SIGKILL of the gateway mid-sync, restart: the sync resumes and completes, nothing stored twice, at most 1.1x the requests', async (t, under) => {
  // Latency stretches the sync over a few seconds, so the kill lands mid-way.
  const sim = await startSimulator({ autoLogin: true, resourcesPerType: 120, faults: { latencyMs: 15 } })
  t.teardown(() => sim.close())
  const practice = sim.practices[0]
  const dataDir = tempDir(t)
  const env = {
    ...gatewaySettings(sim, 'confidential'),
    DATA_DIR: dataDir,
    DATABASE_URL: under.name === 'sqlite' ? `sqlite:${path.join(dataDir, 'gateway.db')}` : await under.databaseUrl(t),
    VAULT_KEY: randomBytes(32).toString('hex'),
    SYNC_INTERVAL_HOURS: '0',
    SYNC_LEASE_SECONDS: '2'
  }
  const first = await startGatewayProcess(t, env)
  const { connectionId, key } = await connectPatient({ sim, gw: first })
  sim.resetCounters()

  const started = await fetch(`${first.url}/connections/${connectionId}/sync`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
  t.equal(started.status, 202)
  const before = await waitForSync(first.url, connectionId, key, (s) => s.progress.requests >= 40, 60_000)
  await first.stop('SIGKILL')
  t.equal(before.status, 'running', `killed after ${before.progress.requests} requests`)

  // The same data directory and database: the restarted gateway finds the run and its checkpoints.
  const second = await startGatewayProcess(t, env)
  const done = await waitForSync(second.url, connectionId, key, (s) => s.status !== 'running', 120_000)
  t.equal(done.status, 'succeeded', JSON.stringify(done.lastError))
  t.equal(done.syncId, before.syncId, 'the interrupted run resumed, not a new one')
  const interrupted = sim.counters().fhir[practice.id]
  t.equal(sim.counters().rateLimited, 0)

  const pulled = await pullRecords(second.url, connectionId, key, '0', 1000)
  t.equal(pulled.resources.length, pulled.versions.size, 'no resource stored twice')
  t.equal(pulled.resources.length, done.progress.resources, 'every resource fetched is stored once')

  // An uninterrupted sync of the same record, for comparison (it re-reads no Binary: a stricter baseline).
  sim.resetCounters()
  const whole = await syncToEnd(second.url, connectionId, key)
  t.equal(whole.status, 'succeeded')
  t.equal(whole.progress.changed, 0, 'the resumed sync had stored everything')
  const uninterrupted = sim.counters().fhir[practice.id]
  t.ok(interrupted <= 1.1 * uninterrupted, `${interrupted} requests with the crash, ${uninterrupted} without (${(interrupted / uninterrupted).toFixed(3)}x)`)
  const status = await syncStatus(second.url, connectionId, key)
  t.equal(status.status, 'succeeded')
})
