import t from 'tap'
import { seededRandom, pick } from '../simulator/prng.js'
import { startSimulator, type Faults, type Quirks } from '../simulator/index.js'
import { startGateway, tempDir, untilDirectoryReady, type TestGateway } from './helpers/app.js'
import { bearer, handoffFor, simulatorSettings } from './helpers/connect.js'
import { shiftDate } from './helpers/shifted-date.js'

// A year of a gateway's life in under a minute: the gateway's and the simulator's clocks (one
// process, one Date) jump a day at a time; access tokens live an hour and refresh tokens 90 days,
// as at Healow. Every day Healow's token endpoint may misbehave, patients read, the keep-alive
// refreshes idle connections, and now and then the gateway restarts. At the end every connection
// must be active and read, and no refresh token may have reached Healow twice.

const DAY_MS = 86_400_000
const DAYS = 365
const CONNECTIONS = 50
const READS_PER_DAY = 2
const CALLER_WAIT_MS = 1000
const KEEPALIVE_DAYS = 30

type Fault = 'outage' | 'slow' | 'cut' | 'rate_limited' | 'restart'
const FAULTS: Record<Fault, { faults?: Partial<Faults>, quirks?: Partial<Quirks> }> = {
  outage: { faults: { tokenDown: true } },
  slow: { faults: { tokenLatencyMs: CALLER_WAIT_MS + 300 } },
  cut: { faults: { tokenCutMidBody: true } },
  // A limit of 0: Healow answers 429 to everything of every practice that day.
  rate_limited: { quirks: { rateLimitPerMinute: 0 } },
  restart: {}
}
const FAULT_DRAW: Fault[] = ['outage', 'outage', 'outage', 'cut', 'cut', 'cut', 'rate_limited', 'rate_limited', 'rate_limited', 'restart', 'restart', 'slow']
const CALM = {
  faults: { tokenDown: false, tokenLatencyMs: 0, tokenCutMidBody: false },
  quirks: { rateLimitPerMinute: null }
}

/** Shifts this process's clock (Date.now and new Date()) by whatever the test adds to `offset`. */
function shiftableClock (t: Parameters<typeof tempDir>[0]): { advance: (ms: number) => void } {
  let offset = 0
  t.teardown(shiftDate(() => offset))
  return { advance: (ms) => { offset += ms } }
}

t.setTimeout(300_000)

t.test(`a simulated year on SQLite: ${CONNECTIONS} connections, daily faults at the token endpoint, restarts`, async (t) => {
  const started = performance.now()
  const clock = shiftableClock(t)
  const sim = await startSimulator({
    autoLogin: true,
    accessTokenTtl: 3600,
    refreshTokenTtl: 90 * 24 * 3600,
    quirks: { rateLimitPerMinute: null }
  })
  t.teardown(() => sim.close())
  const dataDir = tempDir(t)
  const env = {
    DATA_DIR: dataDir,
    ...simulatorSettings(sim),
    LOG_LEVEL: 'warn',
    TOKEN_REQUEST_TIMEOUT_MS: String(CALLER_WAIT_MS),
    REFRESH_KEEPALIVE_DAYS: String(KEEPALIVE_DAYS)
  }
  const start = async () => await startGateway(t, env, { refreshRetryDelaysMs: [5, 10] })
  let gw: TestGateway = await start()
  await untilDirectoryReady(gw)

  // Logins through the simulator, ten a (simulated) minute: the login routes' rate limit.
  const connections: Array<{ id: string, key: string, patientId: string }> = []
  for (let i = 0; i < CONNECTIONS; i++) {
    if (i % 10 === 9) clock.advance(61_000)
    const practice = sim.practices[i % sim.practices.length]
    const claimed = (await gw.app.connections.claim(await handoffFor({ sim, gw }, { practiceId: practice.id })))!
    connections.push({ id: claimed.connectionId, key: claimed.key, patientId: practice.patientId })
  }
  const read = async (c: typeof connections[number]) => {
    const res = await fetch(`${gw.url}/fhir/${c.id}/Patient/${c.patientId}`, { headers: bearer(c.key) })
    await res.arrayBuffer()
    return res.status
  }

  const random = seededRandom('simulated-year')
  const injected: Record<Fault, number> = { outage: 0, slow: 0, cut: 0, rate_limited: 0, restart: 0 }
  const answers: Record<string, number> = {}
  sim.resetCounters()
  for (let day = 1; day <= DAYS; day++) {
    clock.advance(DAY_MS)
    // About one day in six goes wrong; a slow day costs a second of real time per refresh, so it
    // is the rarest kind.
    const fault = random() < 1 / 6 ? pick(random, FAULT_DRAW) : undefined
    if (fault) {
      injected[fault]++
      if (fault === 'restart') {
        await gw.app.close()
        gw = await start()
      }
      sim.setFaults(FAULTS[fault].faults ?? {})
      sim.setQuirks(FAULTS[fault].quirks ?? {})
    }
    const readers = Array.from({ length: READS_PER_DAY }, () => pick(random, connections))
    for (const status of await Promise.all(readers.map(read))) answers[status] = (answers[status] ?? 0) + 1
    await gw.app.tokens.keepAlive(KEEPALIVE_DAYS * DAY_MS, CONNECTIONS)
    // Healow recovers by the next day; an answer still on its way is committed first.
    await gw.app.tokens.settle()
    sim.setFaults(CALM.faults)
    sim.setQuirks(CALM.quirks)
  }

  clock.advance(DAY_MS)
  const finalReads = await Promise.all(connections.map(read))
  const states = await Promise.all(connections.map(async (c) => (await gw.app.vault.record(c.id))!.status))
  const counters = sim.counters()
  const refreshes = Object.entries(counters.token).filter(([k]) => k.startsWith('refresh_token:')).reduce((sum, [, n]) => sum + n, 0)
  const lost = states.filter((s) => s !== 'active').length
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  t.comment(JSON.stringify({
    days: DAYS,
    connections: CONNECTIONS,
    kept: CONNECTIONS - lost,
    lost,
    injected,
    refreshCalls: refreshes,
    tokenOutcomes: counters.token,
    dailyReads: answers,
    seconds
  }))

  t.same(states, connections.map(() => 'active'), 'every connection is active after a year (no loss here is unavoidable: no process dies mid-refresh)')
  t.same(finalReads, connections.map(() => 200), 'and every one reads')
  t.equal(counters.refreshTokenReuse, 0, 'no refresh token reached Healow twice')
  t.notOk(counters.token['refresh_token:invalid_grant'], 'Healow never refused a refresh token')
  t.ok(Object.values(injected).every((n) => n > 0), 'every kind of fault happened')
  t.notOk(Object.keys(answers).some((status) => Number(status) >= 500 && status !== '503'), 'reads on bad days answered 503 at worst')
})
