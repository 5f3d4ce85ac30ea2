import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js'
import { RECORD_REUSE_MS } from '../../lib/tokens/vault.js'
import { freePort } from './app.js'
import { bearer, connectPatient, simulatorSettings, type Connected, type Stack } from './connect.js'
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js'
import { freshPostgresDatabase } from './postgres.js'

type Test = Parameters<typeof freshPostgresDatabase>[0]

export interface Fleet {
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
 * `env` adds to (or overrides) every instance's configuration.
 */
export async function startFleet (
  t: Test,
  { instances = 2, simulator = {}, env: extraEnv = {} }: {
    instances?: number,
    simulator?: SimulatorOptions,
    env?: Record<string, string>
  } = {}
): Promise<Fleet> {
  const sim = await startSimulator({ autoLogin: true, ...simulator })
  t.teardown(() => sim.close())
  const databaseUrl = await freshPostgresDatabase(t)
  const ports = await Promise.all(Array.from({ length: instances }, freePort))
  const env = {
    ...simulatorSettings(sim),
    DATABASE_URL: databaseUrl,
    VAULT_KEY: randomBytes(32).toString('hex'),
    PUBLIC_URL: `http://127.0.0.1:${ports[0]}`,
    ...extraEnv
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

/**
 * Makes every connection's access token due for refresh, as an hour of idling would. The write goes
 * behind the instances' backs, so it waits until no instance still reuses a record it read before
 * (the connect flow reads each one): a reused record would still call the old token fresh.
 */
export async function expireAllAccessTokens (fleet: Fleet): Promise<void> {
  await fleet.db.query('UPDATE connections SET access_expires_at = $1', [Date.now()])
  await sleep(RECORD_REUSE_MS + 100)
}

export async function readPatient (
  instance: GatewayProcess,
  connection: Connected & { patientId: string }
): Promise<number> {
  const res = await fetch(`${instance.url}/fhir/${connection.connectionId}/Patient/${connection.patientId}`, { headers: bearer(connection.key) })
  await res.arrayBuffer()
  return res.status
}

/**
 * Request i reads connection i mod n; the instance shifts by one every round, so every connection
 * is asked for on every instance, and the first round already spreads the connections over all
 * instances (each instance leads some refreshes).
 */
export function stormOrder (
  requests: number,
  connections: number,
  instances: number
): Array<{ connection: number, instance: number }> {
  return Array.from(
    { length: requests },
    (_, i) => ({ connection: i % connections, instance: (i + Math.floor(i / connections)) % instances })
  )
}

export async function connectionStates (fleet: Fleet): Promise<Array<{ status: string, token_version: number }>> {
  return (await fleet.db.query<{ status: string, token_version: number }>('SELECT status, token_version FROM connections ORDER BY id')).rows
}

/** Waits until `condition` holds, checking every 20 ms, for at most `ms`. */
export async function until (condition: () => boolean, ms = 10_000): Promise<void> {
  await untilAsync(async () => condition(), ms)
}

/** `until` for a condition that must ask something first (the database). */
export async function untilAsync (condition: () => Promise<boolean>, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !await condition(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`)
  }
}
