import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/index.js'
import { freePort } from './helpers/app.js'
import { bearer, connectPatient, loginAtHealow, type Connected, type Stack } from './helpers/connect.js'
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js'
import { freshPostgresDatabase } from './helpers/postgres.js'

type Test = Parameters<typeof freshPostgresDatabase>[0]

interface Fleet {
  sim: Simulator
  instances: GatewayProcess[]
  /** The vault's database, to look at what the instances wrote. */
  db: pg.Client
  /**
   * Patients connected through the instances in turn (the callback lands on PUBLIC_URL, the
   * first instance, as a load balancer might send it anywhere). At most 10 per instance a
   * minute: the claim route's rate limit.
   */
  connect (count: number): Promise<Array<Connected & { patientId: string }>>
}

/**
 * Gateway processes on one PostgreSQL, configured as behind a load balancer: the same
 * DATABASE_URL, VAULT_KEY and PUBLIC_URL (here the first instance's address), confidential mode.
 */
async function startFleet (t: Test, { instances = 2, simulator = {} }: { instances?: number, simulator?: SimulatorOptions } = {}): Promise<Fleet> {
  const sim = await startSimulator({ autoLogin: true, ...simulator })
  t.teardown(() => sim.close())
  const databaseUrl = await freshPostgresDatabase(t)
  const ports = await Promise.all(Array.from({ length: instances }, freePort))
  const env = {
    HEALOW_CLIENT_ID: sim.clients.confidential.clientId,
    HEALOW_CLIENT_SECRET: sim.clients.confidential.clientSecret,
    HEALOW_AUTHORIZE_URL: sim.authorizeUrl,
    HEALOW_TOKEN_URL: sim.tokenUrl,
    HEALOW_DIRECTORY_URL: sim.directoryUrl,
    ALLOW_LOOPBACK_HTTP: 'true',
    DATABASE_URL: databaseUrl,
    VAULT_KEY: randomBytes(32).toString('hex'),
    PUBLIC_URL: `http://127.0.0.1:${ports[0]}`
  }
  const started = await Promise.all(ports.map(async (port) => await startGatewayProcess(t, env, { port })))
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  return {
    sim,
    instances: started,
    db,
    connect: async (count) => {
      const connected = []
      for (let i = 0; i < count; i++) {
        const practice = sim.practices[i % sim.practices.length]
        const stack = { sim, gw: { url: started[i % started.length].url }, mode: 'confidential' } as Stack
        connected.push({ ...await connectPatient(stack, { practiceId: practice.id }), patientId: practice.patientId })
      }
      return connected
    }
  }
}

/** Makes every connection's access token due for refresh, as an hour of idling would. */
async function expireAllAccessTokens (fleet: Fleet): Promise<void> {
  await fleet.db.query('UPDATE connections SET access_expires_at = $1', [Date.now()])
}

async function readPatient (instance: GatewayProcess, connection: Connected & { patientId: string }): Promise<number> {
  const res = await fetch(`${instance.url}/fhir/${connection.connectionId}/Patient/${connection.patientId}`, { headers: bearer(connection.key) })
  await res.arrayBuffer()
  return res.status
}

async function connectionStates (fleet: Fleet): Promise<Array<{ status: string, token_version: number }>> {
  return (await fleet.db.query<{ status: string, token_version: number }>('SELECT status, token_version FROM connections ORDER BY id')).rows
}

t.test('OAuth started on one instance finishes on the other; the handoff is claimed on either', async (t) => {
  const fleet = await startFleet(t)
  const [a, b] = fleet.instances
  const stack = { sim: fleet.sim, gw: { url: a.url }, mode: 'confidential' } as Stack
  const { browser, callbackUrl } = await loginAtHealow(stack)
  const onB = new URL(callbackUrl)
  onB.port = new URL(b.url).port
  const page = await browser.get(onB)
  const handoff = /<code id="handoff">([^<]+)<\/code>/.exec(await page.text())?.[1]
  t.equal(page.status, 200, 'the callback is accepted by the instance that did not start the flow')
  const claim = async (instance: GatewayProcess) => await fetch(`${instance.url}/connections/claim`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff })
  })
  const [first, second] = [await claim(a), await claim(b)]
  t.equal(first.status, 201, 'claimed on the first instance')
  t.equal(second.status >= 400 && second.status < 500, true, 'the same handoff is spent for the other instance too')
  const { key, connection } = await first.json() as { key: string, connection: { id: string } }
  const practice = fleet.sim.practices[0]
  const res = await fetch(`${b.url}/fhir/${connection.id}/Patient/${practice.patientId}`, { headers: bearer(key) })
  t.equal(res.status, 200, 'the key works on the other instance')
})

t.test('300 concurrent requests over two instances on expiring tokens: one refresh per connection, none failed', async (t) => {
  const fleet = await startFleet(t)
  const connections = await fleet.connect(10)
  await expireAllAccessTokens(fleet)
  fleet.sim.resetCounters()
  // A slow token endpoint keeps every refresh open while the rest of the storm arrives.
  fleet.sim.setFaults({ tokenLatencyMs: 300 })
  const statuses = await Promise.all(Array.from({ length: 300 }, async (_, i) =>
    await readPatient(fleet.instances[i % 2], connections[i % connections.length])))
  t.same(statuses.filter((s) => s !== 200), [], 'every request answered 200')
  t.same(fleet.sim.counters().token, { 'refresh_token:ok': connections.length }, 'the simulator saw one refresh per connection and no reuse')
  t.same(await connectionStates(fleet), connections.map(() => ({ status: 'active', token_version: 2 })), 'each connection refreshed exactly once')
})
