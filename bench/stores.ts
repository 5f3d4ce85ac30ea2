// SQLite against PostgreSQL behind the gateway: (a) a refresh storm, N connections whose access
// tokens are due and M requests for them at once, on SQLite (one instance) and PostgreSQL (one and
// two instances); (b) proxy throughput, ~2 KB Bundle GETs with 50 autocannon connections spread
// over every connection and practice; (c) the cost of one request-budget take, in memory against
// PostgreSQL, by how many send times the practice's last minute holds. Gateways run as processes
// (`node server.ts`), the simulator in its own, autocannon here; one embedded PostgreSQL server.
// Run: npx tsx bench/stores.ts   (prints a Markdown section for BENCHMARKS.md)
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon'
import pg from 'pg'
import { gatewaySettings } from '../simulator/cli-options.js'
import { openPostgresRequestBudget } from '../lib/budget/postgres.js'
import { SlidingWindowBudget, type RequestBudget } from '../lib/budget/sliding-window.js'
import { startSimulator, type Simulator } from '../simulator/index.js'
import { startGateway, tempDir } from '../test/helpers/app.js'
import { handoffFor, type Stack } from '../test/helpers/connect.js'
import { startGatewayProcess, type GatewayProcess } from '../test/helpers/gateway-process.js'
import { createPostgresDatabase, startEmbeddedPostgres } from '../test/helpers/embedded-postgres.js'

const SELF = fileURLToPath(import.meta.url)
// N: patients connected, one per practice. At most 10: the gateway's login routes allow one
// address 30 requests a minute, and a login through the simulator costs about three.
const CONNECTIONS = 10
const STORM_REQUESTS = 500 // M: requests sent at once when every token is due
const TOKEN_LATENCY_MS = 200 // Healow's token endpoint is not instant; the storm piles up behind it
const PRACTICES = CONNECTIONS
const PAGE_SIZE = 2 // entries per search page: a Bundle of about 2 KB
const LOAD_CONNECTIONS = 50
const DURATION_S = 10
const BUDGET_TAKES = 300

interface SimulatorInfo {
  url: string
  authorizeUrl: string
  tokenUrl: string
  directoryUrl: string
  aliasBase: string
  practices: Array<{ id: string, patientId: string }>
  clients: Simulator['clients']
}

interface Connection { connectionId: string, key: string, patientId: string }

/** What a test's `t` is to the helpers: something that collects clean-ups. */
class Scope {
  readonly #cleanups: Array<() => unknown> = []
  teardown (fn: () => unknown): void { this.#cleanups.push(fn) }
  async close (): Promise<void> {
    for (const fn of this.#cleanups.splice(0).reverse()) await fn()
  }
}

async function simulatorProcess (scope: Scope): Promise<SimulatorInfo> {
  const child = fork(SELF, ['simulator'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  scope.teardown(() => { child.kill() })
  return await new Promise((resolve, reject) => {
    child.once('message', (info) => resolve(info as SimulatorInfo))
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)))
  })
}

async function simAdmin<T> (sim: SimulatorInfo, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.url}/_sim/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`simulator ${path}: ${res.status}`)
  return (res.status === 204 ? undefined : await res.json()) as T
}

const tokenCounters = async (sim: SimulatorInfo) => (await simAdmin<{ token: Record<string, number> }>(sim, 'counters')).token

function gatewayEnv (sim: SimulatorInfo, databaseUrl: string, vaultKey: string): Record<string, string> {
  return {
    ...gatewaySettings(sim, 'confidential'),
    DATABASE_URL: databaseUrl,
    VAULT_KEY: vaultKey,
    // Far above the load, so that what is measured is the budget's bookkeeping, not its queue.
    HEALOW_RATE_LIMIT_PER_MINUTE: '1000000000',
    LOG_LEVEL: 'warn'
  }
}

/**
 * Connects N patients through the real login at the simulator, with a gateway in this process on
 * the database (claimed in-process: the claim route allows 10 a minute), then makes every access
 * token due, as an hour of idling would.
 */
async function seedConnections (sim: SimulatorInfo, env: Record<string, string>): Promise<Connection[]> {
  const scope = new Scope()
  try {
    const gw = await startGateway(scope, env)
    while (!gw.app.tenantDirectory.status().ready) await sleep(25)
    const stack = { sim, gw, mode: 'confidential' } as unknown as Stack
    const connections: Connection[] = []
    for (let i = 0; i < CONNECTIONS; i++) {
      const practice = sim.practices[i % sim.practices.length]
      const claimed = await gw.app.connections.claim(await handoffFor(stack, { practiceId: practice.id }))
      if (!claimed) throw new Error('handoff could not be claimed')
      const c = (await gw.app.vault.read(claimed.connectionId))!
      if (!await gw.app.vault.saveRefreshed(c.id, c.tokenVersion, c.tokens, Date.now(), c.scope)) throw new Error('could not expire the token')
      connections.push({ ...claimed, patientId: practice.patientId })
    }
    return connections
  } finally {
    await scope.close()
  }
}

async function refreshStorm (sim: SimulatorInfo, instances: GatewayProcess[], connections: Connection[]) {
  await simAdmin(sim, 'counters/reset', {})
  await simAdmin(sim, 'faults', { tokenLatencyMs: TOKEN_LATENCY_MS })
  const started = performance.now()
  // Request i reads connection i mod N; the instance shifts by one every round, so every
  // connection is asked for on every instance at once (test/helpers/fleet.ts's stormOrder).
  const statuses = await Promise.all(Array.from({ length: STORM_REQUESTS }, async (_, i) => {
    const c = connections[i % connections.length]
    const res = await fetch(`${instances[(i + Math.floor(i / connections.length)) % instances.length].url}/fhir/${c.connectionId}/Patient/${c.patientId}`, { headers: { authorization: `Bearer ${c.key}` } }).catch(() => undefined)
    await res?.arrayBuffer()
    return res?.status ?? 0
  }))
  const seconds = (performance.now() - started) / 1000
  await simAdmin(sim, 'faults', { tokenLatencyMs: 0 })
  const token = await tokenCounters(sim)
  return { seconds, refreshes: token['refresh_token:ok'] ?? 0, otherTokenCalls: Object.entries(token).filter(([k]) => k !== 'refresh_token:ok').reduce((n, [, v]) => n + v, 0), failures: statuses.filter((s) => s !== 200).length }
}

async function throughput (instances: GatewayProcess[], connections: Connection[], duration: number) {
  let next = 0
  const requests = [{
    setupRequest: (req: Record<string, unknown>) => {
      const c = connections[next++ % connections.length]
      return { ...req, path: `/fhir/${c.connectionId}/Observation?patient=${c.patientId}`, headers: { authorization: `Bearer ${c.key}` } }
    }
  }]
  // Several instances: the connections split evenly, as a load balancer would.
  const results = await Promise.all(instances.map(async (instance) => await autocannon({
    url: instance.url,
    connections: LOAD_CONNECTIONS / instances.length,
    duration,
    requests
  })))
  for (const r of results) if (r.non2xx > 0 || r.errors > 0) throw new Error(`throughput: ${r.non2xx} non-2xx, ${r.errors} errors`)
  return {
    rps: results.reduce((sum: number, r: { requests: { average: number } }) => sum + r.requests.average, 0),
    p50: Math.max(...results.map((r: { latency: { p50: number } }) => r.latency.p50)),
    p99: Math.max(...results.map((r: { latency: { p99: number } }) => r.latency.p99))
  }
}

/** One store configuration: seed, start its gateways, storm, then load. */
async function measure (sim: SimulatorInfo, databaseUrl: string, instanceCount: number) {
  const scope = new Scope()
  try {
    const env = gatewayEnv(sim, databaseUrl, randomBytes(32).toString('hex'))
    const connections = await seedConnections(sim, env)
    const instances = await Promise.all(Array.from(
      { length: instanceCount },
      async () => await startGatewayProcess(scope, env)
    ))
    const storm = await refreshStorm(sim, instances, connections)
    const sample = await fetch(`${instances[0].url}/fhir/${connections[0].connectionId}/Observation?patient=${connections[0].patientId}`, { headers: { authorization: `Bearer ${connections[0].key}` } })
    const bundleBytes = (await sample.arrayBuffer()).byteLength
    await throughput(instances, connections, 2) // warm-up
    return { storm, load: await throughput(instances, connections, DURATION_S), bundleBytes }
  } finally {
    await scope.close()
  }
}

/** Mean microseconds of one take() when the practice's last minute already holds `held` send times. */
async function takeCost (budget: RequestBudget, practiceId: string): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < BUDGET_TAKES; i++) await budget.take(practiceId)
  return (performance.now() - started) * 1000 / BUDGET_TAKES
}

async function budgetCosts (scope: Scope, serverUrl: string, held: number[]) {
  const rows = []
  for (const n of held) {
    const now = Date.now()
    const times = Array.from({ length: n }, (_, i) => now - 59_000 + Math.floor(i * 58_000 / Math.max(n, 1)))
    const memory = new SlidingWindowBudget({ limit: 1_000_000_000 })
    // Filled through take() (quick in memory): as many send times in the window, all recent.
    for (let i = 0; i < n; i++) await memory.take('P')
    const databaseUrl = await createPostgresDatabase(scope, serverUrl)
    const shared = await openPostgresRequestBudget(databaseUrl, { limit: 1_000_000_000 })
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    await db.query('INSERT INTO request_budgets (practice_id, sent) VALUES ($1, $2)', ['P', times])
    await db.end()
    await takeCost(shared, 'P') // warm-up: pool connections, plan cache
    rows.push({ held: n, memoryUs: await takeCost(memory, 'P'), postgresUs: await takeCost(shared, 'P') })
    await shared.close()
  }
  return rows
}

async function main (): Promise<void> {
  const scope = new Scope()
  try {
    const load = loadavg()
    const server = await startEmbeddedPostgres()
    scope.teardown(server.stop)
    const sim = await simulatorProcess(scope)
    const sqliteUrl = `sqlite:${path.join(tempDir(scope, 'healow-sync-bench-'), 'bench.db')}`
    const sqlite = await measure(sim, sqliteUrl, 1)
    const postgresOne = await measure(sim, await createPostgresDatabase(scope, server.url), 1)
    const postgresTwo = await measure(sim, await createPostgresDatabase(scope, server.url), 2)
    const budget = await budgetCosts(scope, server.url, [0, 1_000, 10_000])
    const loadAfter = loadavg()

    const f = (n: number, digits = 2) => n.toFixed(digits)
    const runs = [['SQLite, 1 instance', sqlite], ['PostgreSQL, 1 instance', postgresOne], ['PostgreSQL, 2 instances', postgresTwo]] as const
    process.stdout.write([
      `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; load average ${load.map((l) => f(l)).join(' ')} before, ${loadAfter.map((l) => f(l)).join(' ')} after. Gateways as \`node server.ts\` processes at LOG_LEVEL=warn with HEALOW_RATE_LIMIT_PER_MINUTE=1000000000, the simulator in its own process (rate-limit quirk off), one embedded PostgreSQL 18 (fsync off, as in the tests), autocannon in the benchmark process.`,
      '',
      `(a) Refresh storm: ${CONNECTIONS} connections over ${PRACTICES} practices, every access token due, ${STORM_REQUESTS} GETs at once (spread over the instances), the token endpoint answering in ${TOKEN_LATENCY_MS} ms:`,
      '',
      '| store | time to complete s | refreshes at the simulator (must be ' + CONNECTIONS + ') | other token calls | failed requests |', '|---|---|---|---|---|',
      ...runs.map(([name, r]) => `| ${name} | ${f(r.storm.seconds)} | ${r.storm.refreshes} | ${r.storm.otherTokenCalls} | ${r.storm.failures} |`),
      '',
      `(b) Proxy throughput: GETs of a ${sqlite.bundleBytes}-byte Bundle (Observation search, ${PAGE_SIZE} entries, links rewritten), ${LOAD_CONNECTIONS} connections cycling over the ${CONNECTIONS} gateway connections, ${DURATION_S} s after a 2 s warm-up:`,
      '',
      '| store | req/s | × SQLite | p50 ms | p99 ms |', '|---|---|---|---|---|',
      ...runs.map(([name, r]) => `| ${name} | ${Math.round(r.load.rps)} | ${f(r.load.rps / sqlite.load.rps)} | ${f(r.load.p50)} | ${f(r.load.p99)} |`),
      '',
      `(c) One request-budget take() (sequential, ${BUDGET_TAKES} takes), by send times already held for the practice's last minute:`,
      '',
      '| held | in memory (SQLite deployments) µs | PostgreSQL µs |', '|---|---|---|',
      ...budget.map((r) => `| ${r.held} | ${f(r.memoryUs, 1)} | ${f(r.postgresUs, 0)} |`),
      ''
    ].join('\n'))
    const broken = runs.filter(([, r]) => r.storm.refreshes !== CONNECTIONS || r.storm.failures !== 0)
    if (broken.length > 0) throw new Error(`refresh storm incorrect on ${broken.map(([name]) => name).join(', ')}`)
  } finally {
    await scope.close()
  }
}

const [role] = process.argv.slice(2)
if (role === 'simulator') {
  const practices = Array.from({ length: PRACTICES }, (_, i) => ({ id: `BNCH${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`, name: `Bench practice ${i + 1}` }))
  const sim = await startSimulator({
    autoLogin: true,
    practices,
    pageSize: PAGE_SIZE,
    quirks: { rateLimitPerMinute: null }
  })
  const { url, authorizeUrl, tokenUrl, directoryUrl, aliasBase, clients } = sim
  process.send!({
    url,
    authorizeUrl,
    tokenUrl,
    directoryUrl,
    aliasBase,
    clients,
    practices: sim.practices.map(({ id, patientId }) => ({ id, patientId }))
  } satisfies SimulatorInfo)
} else {
  await main()
}
