import t from 'tap'
import { randomBytes } from 'node:crypto'
import { renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { LEASE_HOLDER_LOCK_NAMESPACE } from '../lib/store/postgres.js'
import { seededRandom, pick } from '../simulator/prng.js'
import { startSimulator, type Faults, type Quirks } from '../simulator/index.js'
import { freePort, tempDir } from './helpers/app.js'
import { bearer, connectPatient, simulatorSettings, type Connected } from './helpers/connect.js'
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js'
import { freshPostgresDatabase } from './helpers/postgres.js'
import { shiftDate } from './helpers/shifted-date.js'
import { startTokenRecorder } from './helpers/token-recorder.js'

// The simulated year again, now as it runs in production: two gateway processes on one
// PostgreSQL, each with its own clock. A preloaded module moves each process's Date by the offset
// the test writes to a file; the simulator runs here and moves with this process's Date. Besides
// the token endpoint's bad days, a gateway process is SIGKILLed (mid-work: Healow answers a little
// slowly that day, so refreshes are in flight) or restarted. A relay in front of Healow's token
// endpoint notes which process presented which refresh token and what Healow issued: the only
// losses allowed are connections whose rotated token Healow handed to a process that was
// SIGKILLed before that token could be used again (it was never saved), which no client can avoid.

const DAY_MS = 86_400_000
const DAYS = 365
const CONNECTIONS = 50
const READS_PER_DAY = 2
const CALLER_WAIT_MS = 1000
const KEEPALIVE_DAYS = 30
const FAULT_ODDS = 1 / 8
// The gateways re-read the clock file every 20 ms.
const CLOCK_SETTLE_MS = 60
const SLOTS = 2

type Fault = 'outage' | 'slow' | 'cut' | 'rate_limited' | 'kill' | 'restart'
const FAULTS: Record<Fault, { faults?: Partial<Faults>, quirks?: Partial<Quirks> }> = {
  outage: { faults: { tokenDown: true } },
  slow: { faults: { tokenLatencyMs: CALLER_WAIT_MS + 300 } },
  cut: { faults: { tokenCutMidBody: true } },
  rate_limited: { quirks: { rateLimitPerMinute: 0 } },
  // Healow a little slow, so the SIGKILL finds refreshes in flight.
  kill: { faults: { tokenLatencyMs: 150 } },
  restart: {}
}
const FAULT_DRAW: Fault[] = ['outage', 'outage', 'cut', 'cut', 'rate_limited', 'rate_limited', 'kill', 'kill', 'kill', 'restart', 'slow']
const CALM = {
  faults: { tokenDown: false, tokenLatencyMs: 0, tokenCutMidBody: false },
  quirks: { rateLimitPerMinute: null }
}

t.setTimeout(600_000)

const tally = (values: Array<string | number>): Record<string, number> =>
  values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {})

t.test(`a simulated year on two PostgreSQL instances: ${CONNECTIONS} connections, token endpoint faults, SIGKILLs and restarts`, async (t) => {
  const started = performance.now()
  let offset = 0
  const clockFile = path.join(tempDir(t), 'clock-offset')
  const writeClock = () => {
    writeFileSync(`${clockFile}.tmp`, String(offset))
    renameSync(`${clockFile}.tmp`, clockFile)
  }
  writeClock()
  t.teardown(shiftDate(() => offset))
  const advance = async (ms: number) => {
    offset += ms
    writeClock()
    await sleep(CLOCK_SETTLE_MS)
  }

  const sim = await startSimulator({
    autoLogin: true, accessTokenTtl: 3600, refreshTokenTtl: 90 * 24 * 3600, quirks: { rateLimitPerMinute: null }
  })
  t.teardown(() => sim.close())
  const recorder = await startTokenRecorder(t, sim.tokenUrl, SLOTS)
  const databaseUrl = await freshPostgresDatabase(t)
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  const ports = await Promise.all(Array.from({ length: SLOTS }, freePort))
  const dataDirs = ports.map(() => tempDir(t))
  const env = {
    ...simulatorSettings(sim),
    DATABASE_URL: databaseUrl,
    VAULT_KEY: randomBytes(32).toString('hex'),
    PUBLIC_URL: `http://127.0.0.1:${ports[0]}`,
    TOKEN_REQUEST_TIMEOUT_MS: String(CALLER_WAIT_MS),
    REFRESH_KEEPALIVE_DAYS: String(KEEPALIVE_DAYS),
    SHIFTED_CLOCK_FILE: clockFile
  }
  const lives = ports.map(() => 0)
  const start = async (slot: number): Promise<GatewayProcess> => {
    lives[slot] = recorder.newLife(slot)
    return await startGatewayProcess(t, { ...env, DATA_DIR: dataDirs[slot], HEALOW_TOKEN_URL: recorder.url(slot) }, { port: ports[slot], preload: 'test/helpers/shifted-clock-preload.ts' })
  }
  const gateways = await Promise.all(ports.map(async (_, slot) => await start(slot)))

  // Logins through both instances, ten a (simulated) minute: the login routes' rate limit.
  const connections: Array<Connected & { patientId: string }> = []
  for (let i = 0; i < CONNECTIONS; i++) {
    if (i % 10 === 9) await advance(61_000)
    const practice = sim.practices[i % sim.practices.length]
    const connected = await connectPatient({ sim, gw: { url: gateways[i % SLOTS].url } }, { practiceId: practice.id })
    connections.push({ ...connected, patientId: practice.patientId })
  }
  const byId = new Map(connections.map((c) => [c.connectionId, c]))

  // A load balancer: a request the chosen instance drops (it died) goes to the other one.
  let dropped = 0
  const send = async (slot: number, pathname: string, c: Connected, method = 'GET'): Promise<number> => {
    for (const s of [slot, (slot + 1) % SLOTS]) {
      try {
        const res = await fetch(`${gateways[s].url}${pathname}`, { method, headers: bearer(c.key) })
        await res.arrayBuffer()
        return res.status
      } catch {
        dropped++
      }
    }
    return 0
  }
  const refusedReads = new Set<string>()
  const read = async (slot: number, c: typeof connections[number]) => {
    const status = await send(slot, `/fhir/${c.connectionId}/Patient/${c.patientId}`, c)
    if (status === 401) refusedReads.add(c.connectionId)
    return status
  }
  // What the gateway's hourly keep-alive does, asked for through its API: refresh every
  // connection idle for KEEPALIVE_DAYS.
  const stale = async () => (await db.query<{ id: string }>(`SELECT id FROM connections WHERE status = 'active' AND refreshable
    AND COALESCE(last_refresh_at, created_at) < $1`, [Date.now() - KEEPALIVE_DAYS * DAY_MS])).rows.map((r) => byId.get(r.id)!)
  // Every refresh under way has ended: no lease is held by a live process.
  const settle = async () => {
    for (const deadline = performance.now() + 30_000; performance.now() < deadline; await sleep(20)) {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM refresh_leases AS r WHERE EXISTS (SELECT 1 FROM pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::integer::oid AND l.objid = r.holder_lock::oid AND l.objsubid = 2)`, [LEASE_HOLDER_LOCK_NAMESPACE])
      if (rows[0].n === 0) return
    }
    throw new Error('refreshes still under way after 30 s')
  }

  // Faults and kills draw from their own sequence, so the year's bad days are the same in every
  // run however many keep-alive refreshes the timing leaves to a day.
  const random = seededRandom('simulated-year-postgres')
  const faultRandom = seededRandom('simulated-year-postgres faults')
  const injected: Record<Fault, number> = { outage: 0, slow: 0, cut: 0, rate_limited: 0, kill: 0, restart: 0 }
  const killed = new Map<string, number>()
  const reads: Record<string, number> = {}
  const keepAlive: Record<string, number> = {}
  sim.resetCounters()
  for (let day = 1; day <= DAYS; day++) {
    await advance(DAY_MS)
    const fault = faultRandom() < FAULT_ODDS ? pick(faultRandom, FAULT_DRAW) : undefined
    if (fault) {
      injected[fault]++
      sim.setFaults(FAULTS[fault].faults ?? {})
      sim.setQuirks(FAULTS[fault].quirks ?? {})
    }
    const slotOf = () => Math.floor(random() * SLOTS)
    const work = [
      ...Array.from({ length: READS_PER_DAY }, async () => {
        const status = await read(slotOf(), pick(random, connections))
        reads[status] = (reads[status] ?? 0) + 1
      }),
      ...(await stale()).map(async (c) => await send(slotOf(), `/connections/${c.connectionId}/refresh`, c, 'POST').then((status) => { keepAlive[status] = (keepAlive[status] ?? 0) + 1 }))
    ]
    if (fault === 'kill' || fault === 'restart') {
      const victim = Math.floor(faultRandom() * SLOTS)
      await sleep(Math.floor(faultRandom() * 300))
      if (fault === 'kill') killed.set(`${victim}:${lives[victim]}`, performance.now())
      await gateways[victim].stop(fault === 'kill' ? 'SIGKILL' : 'SIGTERM')
      // Back while the survivor serves the day's work, as a supervisor would bring it. (Within
      // the day: its start-up wait runs on this process's Date, which the next day moves.)
      work.push(start(victim).then((gateway) => { gateways[victim] = gateway }))
    }
    await Promise.all(work)
    // Healow recovers by the next day; an answer still on its way is committed first.
    await settle()
    sim.setFaults(CALM.faults)
    sim.setQuirks(CALM.quirks)
  }

  await advance(DAY_MS)
  const firstTry = await Promise.all(connections.map(async (c, i) => await read(i % SLOTS, c)))
  await settle()
  // A client told 503 (fifty refreshes at once on a busy machine outlast the caller's wait) tries
  // again after Retry-After.
  const finalReads = await Promise.all(connections.map(async (c, i) =>
    firstTry[i] === 503 ? await read((i + 1) % SLOTS, c) : firstTry[i]))
  const states = (await db.query<{ id: string, status: string }>('SELECT id, status FROM connections')).rows
  // The gateways' own clocks moved with the test's: they stamped refreshes a year ahead.
  const { rows: [{ newest }] } = await db.query<{ newest: string }>('SELECT max(last_refresh_at) AS newest FROM connections')
  const realNow = performance.timeOrigin + performance.now()
  const lost = connections.filter((c, i) => finalReads[i] !== 200 || states.find((s) => s.id === c.connectionId)?.status !== 'active')

  // The proof. A rotation is orphaned when Healow issued a refresh token to a process that was
  // SIGKILLed and that token never reached Healow again: it was never saved.
  const { exchanges } = recorder
  const presented = new Set(exchanges.map((e) => e.presented).filter((token) => token !== undefined))
  const orphaned = exchanges.filter((e) => e.issued !== undefined && !presented.has(e.issued) && killed.has(`${e.slot}:${e.life}`))
  const rotatedAfterDeath = orphaned.filter((e) => e.answeredAt! > killed.get(`${e.slot}:${e.life}`)!).length
  const orphanedTokens = new Set(orphaned.map((e) => e.presented))
  const refused = exchanges.filter((e) => e.presented !== undefined && e.status === 400)
  const counters = sim.counters()
  const refreshCalls = Object.entries(counters.token).filter(([k]) => k.startsWith('refresh_token:')).reduce((sum, [, n]) => sum + n, 0)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  t.comment(JSON.stringify({
    days: DAYS,
    connections: CONNECTIONS,
    kept: CONNECTIONS - lost.length,
    lost: lost.length,
    unavoidable: {
      orphanedRotations: orphaned.length,
      answeredBeforeTheKill: orphaned.length - rotatedAfterDeath,
      rotatedAfterTheRequesterDied: rotatedAfterDeath
    },
    injected,
    processStarts: lives.reduce((sum, n) => sum + n, 0),
    droppedRequestsRetried: dropped,
    refreshCalls,
    tokenOutcomes: counters.token,
    refreshTokenReuse: counters.refreshTokenReuse,
    dailyReads: reads,
    finalReadsFirstTry: tally(firstTry),
    keepAlive,
    lostFinalReads: tally(lost.map((c) => finalReads[connections.indexOf(c)])),
    seconds
  }))

  t.equal(lost.length, orphaned.length, `every lost connection is one whose rotated refresh token Healow handed to a SIGKILLed process that never saved it (${orphaned.length})`)
  t.same(refused.filter((e) => !orphanedTokens.has(e.presented)), [], 'Healow refused no refresh token but those whose successor died with its process')
  t.equal(counters.refreshTokenReuse, refused.length, 'every refresh token presented twice is one of those')
  t.equal(refused.length, orphaned.length, 'each once: the refusal ends the connection (reauth_required), no retry spends it again')
  t.same(states.filter((s) => s.status !== 'active').length, lost.length, 'the database says the same')
  t.ok(Number(newest) > realNow + (DAYS - 1) * DAY_MS, `the gateway processes lived through the year (${new Date(Number(newest)).toISOString()})`)
  t.ok(Object.values(injected).every((n) => n > 0), 'every kind of fault happened')
  t.notOk(Object.keys(reads).some((status) => Number(status) >= 500 && status !== '503'), 'reads on bad days answered 503 at worst')
  t.notOk(reads['0'], 'no read was dropped by both instances')
  t.same([...refusedReads].filter((id) => !lost.some((c) => c.connectionId === id)), [], 'only lost connections were ever refused (401)')
})
