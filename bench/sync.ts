// The sync of one patient under Healow's budget: (a) requests used against the minimum the pages
// require (one per search page, plus metadata, the Patient and each Binary); (b) wall time against
// the minimum the budget allows at 96% of 250 a minute, with the budget's window scaled 10× in
// time (240 requests per 6 s instead of per 60 s: the same shape, a tenth of the wait) and the
// simulator's own limit off; (c) peak memory growth during the sync (heap in use plus external,
// and RSS), at 2,000 and 10,000 resources. The simulator runs in its own process (its CLI), the
// gateway and the sync in this one, so the memory figures are the sync's and the gateway's alone.
// Run: npx tsx --expose-gc bench/sync.ts   (prints a Markdown section for BENCHMARKS.md)
import { randomUUID } from 'node:crypto'
import { loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import { SlidingWindowBudget } from '../lib/budget/sliding-window.js'
import { gatewayBudget, interactiveReserve } from '../lib/budget/gateway-share.js'
import { systemClock } from '../lib/sync/clock.js'
import { SyncRun } from '../lib/sync/engine.js'
import { emptyProgress } from '../lib/sync/progress.js'
import { RecordSealer } from '../lib/sync/sealing.js'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { freePort, startGateway } from '../test/helpers/app.js'
import { connectPatient } from '../test/helpers/connect.js'
import type { Practice } from '../simulator/index.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The simulator as its CLI runs it, in a process of its own; answers its address and what the gateway needs. */
async function startSimulatorProcess (perType: number) {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', '--port', String(port), '--auto-login',
    '--resources-per-type', String(perType), '--page-size', String(PAGE_SIZE), '--rate-limit', 'off'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(async () => {
    child.kill('SIGTERM')
    await once(child, 'exit')
  })
  let output = ''
  for await (const chunk of child.stdout!) {
    output += String(chunk)
    if (/^# practice/m.test(output)) break
  }
  const url = `http://127.0.0.1:${port}`
  const info = await (await fetch(`${url}/_sim/info`)).json() as { aliasBase: string, practices: Practice[], clients: { confidential: { clientId: string, clientSecret: string } } }
  const setting = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(output)?.[1] ?? ''
  return {
    url,
    info,
    env: {
      HEALOW_CLIENT_ID: info.clients.confidential.clientId,
      HEALOW_CLIENT_SECRET: info.clients.confidential.clientSecret,
      HEALOW_AUTHORIZE_URL: setting('HEALOW_AUTHORIZE_URL'),
      HEALOW_TOKEN_URL: setting('HEALOW_TOKEN_URL'),
      HEALOW_DIRECTORY_URL: setting('HEALOW_DIRECTORY_URL'),
      ALLOW_LOOPBACK_HTTP: 'true',
      FHIR_ALIAS_HOSTS: info.aliasBase
    },
    fhirRequests: async (practiceId: string) => ((await (await fetch(`${url}/_sim/counters`)).json()) as { fhir: Record<string, number> }).fhir[practiceId] ?? 0
  }
}

const HEALOW_LIMIT = 250
const WINDOW_MS = 6_000 // Healow's minute, scaled 10×
const PAGE_SIZE = 10 // the simulator's default: Healow's is not documented
const SIZES = [{ resources: 2_000, perType: 490 }, { resources: 10_000, perType: 2_400 }]

const cleanups: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }

interface Figures {
  resources: number
  requests: number
  minimumRequests: number
  wallMs: number
  minimumWallMs: number
  heapMb: number
  rssMb: number
}

async function measure (perType: number): Promise<Figures> {
  const sim = await startSimulatorProcess(perType)
  const gw = await startGateway(t, { ...sim.env, LOG_LEVEL: 'warn', SYNC_INTERVAL_HOURS: '0' })
  for (let i = 0; i < 200 && !gw.app.tenantDirectory.status().ready; i++) await sleep(25)
  const { app } = gw
  const { connectionId } = await connectPatient({ sim: { practices: sim.info.practices } as never, gw })
  const connection = (await app.store.connections.get(connectionId))!
  const limit = gatewayBudget(HEALOW_LIMIT)
  const budget = new SlidingWindowBudget({ limit, windowMs: WINDOW_MS })
  const runId = randomUUID()
  const progress = emptyProgress()
  await app.store.sync.createRun({ id: runId, connectionId, startedAt: Date.now(), progress: JSON.stringify(progress) })
  const run = new SyncRun({
    store: app.store,
    sealer: new RecordSealer(app.vault.recordCipher),
    budget,
    clock: systemClock,
    keepFree: interactiveReserve(HEALOW_LIMIT),
    aliasOrigins: [sim.info.aliasBase],
    timeoutMs: 30_000,
    maxBinaryBytes: 20 * 1024 * 1024,
    accessToken: async (rejected) =>
      await app.tokens.accessToken(connectionId, rejected === undefined ? {} : { rejected }),
    onProgress: () => {}
  }, connection, runId, progress, new Map(), new AbortController().signal)

  globalThis.gc?.()
  const before = process.memoryUsage()
  let peak = { v8: before.heapUsed + before.external, rss: before.rss }
  const sampler = setInterval(() => {
    const now = process.memoryUsage()
    peak = { v8: Math.max(peak.v8, now.heapUsed + now.external), rss: Math.max(peak.rss, now.rss) }
  }, 5)
  const requestsBefore = await sim.fhirRequests(connection.practiceId)
  const began = performance.now()
  const done = await run.run()
  const wallMs = performance.now() - began
  clearInterval(sampler)

  const requests = await sim.fhirRequests(connection.practiceId) - requestsBefore
  const types = Object.entries(done.types)
  const pages = types.filter(([type]) => type !== 'Patient' && type !== 'Binary')
    .reduce((sum, [, p]) => sum + Math.max(1, Math.ceil(p.resources / PAGE_SIZE)), 0)
  const minimumRequests = 1 + pages + (done.types.Patient?.resources ?? 0) + (done.types.Binary?.resources ?? 0)
  const mb = (bytes: number) => bytes / 1024 / 1024
  return {
    resources: done.resources,
    requests,
    minimumRequests,
    wallMs,
    // At most `limit` in any window: request n (from 0) cannot go before floor(n / limit) windows have passed.
    minimumWallMs: Math.floor((minimumRequests - 1) / limit) * WINDOW_MS,
    heapMb: mb(peak.v8 - before.heapUsed - before.external),
    rssMb: mb(peak.rss - before.rss)
  }
}

const load = loadavg()[0].toFixed(2)
const results: Figures[] = []
for (const size of SIZES) {
  results.push(await measure(size.perType))
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}
const f = (n: number, digits = 1) => n.toFixed(digits)
process.stdout.write(`Sync of one patient (page size ${PAGE_SIZE}; budget 240 per ${WINDOW_MS / 1000} s, Healow's 250/minute at 96% scaled 10× in time; load ${load} → ${loadavg()[0].toFixed(2)})

| resources | requests / minimum | wall time / minimum at the budget | peak memory growth (V8 heap+external, RSS) |
|---|---|---|---|
${results.map((r) => `| ${r.resources} | ${r.requests} / ${r.minimumRequests} = **${f(r.requests / r.minimumRequests, 3)}×** | ${f(r.wallMs / 1000)} s / ${f(r.minimumWallMs / 1000)} s = ${r.minimumWallMs > 0 ? `**${f(r.wallMs / r.minimumWallMs, 3)}×**` : 'within the first window'} | ${f(r.heapMb)} MiB, ${f(r.rssMb)} MiB |`).join('\n')}
`)
process.exit(0)
