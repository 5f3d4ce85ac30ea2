// The practice directory: import (time, peak memory, memory kept per practice), search latency against a naive
// scan of every name, and how /health answers while a running gateway refreshes the directory. On the real
// 6,919-practice directory when it is there and on a generated one of Healow's current size (17,291 practices,
// about 15 MB), in the same run.
// Run: npx tsx --expose-gc bench/directory-search.ts [real directory file]   (prints Markdown for BENCHMARKS.md)
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parseDirectoryBundle } from '../lib/directory/bundle.js'
import { importDirectory } from '../lib/directory/directory.js'
import type { Practice } from '../lib/directory/practice.js'
import { PracticeSearchIndex } from '../lib/directory/search-index.js'
import { foldText, searchWords } from '../lib/directory/search-text.js'
import { runSlicesAsync } from '../lib/directory/slices.js'
import { boundedEditDistance, typoBudget } from '../lib/directory/typo-index.js'
import { applyLeanHeapSettings } from '../lib/heap-settings.js'
import { childProcessesOf } from '../test/helpers/processes.js'
import { HEALOW_2026_PRACTICES, healowSizedBundle } from '../test/helpers/synthetic-bundle.js'
import { buildDist, startChild } from './children.js'
import { percentile } from './stats.js'

const SELF = fileURLToPath(import.meta.url)
const DIRECTORY_SOURCE = fileURLToPath(new URL('./directory-source.mjs', import.meta.url))
const PACED_CLIENT = fileURLToPath(new URL('./paced-client.mjs', import.meta.url))
const REPO_ROOT = path.resolve(path.dirname(SELF), '..')
const REAL_DIRECTORY = process.argv[2] === undefined || process.argv[2] === 'import'
  ? path.resolve(REPO_ROOT, '../shared/fixtures/healow-endpoints-bundle.json')
  : path.resolve(process.argv[2])
const LIMIT = 50
const HEALTH_ROUNDS = 3
/** Enough that a request never waits for a free connection at 1,000/s while the gateway is busy. */
const PACED_CONNECTIONS = 50
const OAUTH = {
  authorizeUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/authorize',
  tokenUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/token'
}

// What people type: whole words, typos, several words, accents, ids, and the prefixes of a word as it is typed.
const QUERIES = [
  'cardiology', 'cardilogy', 'family medicine', 'pediatrics houston', 'internal med', 'smith', 'womens health',
  'orthopedic', 'ortho', 'castaner', 'CASTAÑER', 'st vincent', 'sleep', 'pain management', 'heart', 'urgent care',
  'new york', 'gastro', 'dermatolgy', 'primary care', 'JAFJCD', 'allergy asthma', 'medical group', 'health center',
  'garcia md', 'oconnor', 'neurology associates', 'valley', 'wellness', 'surgery center',
  'c', 'ca', 'car', 'card', 'cardi', 'cardio', 'p', 'pe', 'ped', 'pedi', 'pedia'
]

/**
 * The baseline: names folded once up front (as a list held in memory would be), then every name scored on
 * each query, with the same ranking rules as the index so that both must return the same practices.
 */
function naiveSearcher (practices: readonly Practice[]): (query: string, limit: number) => Practice[] {
  const byName = practices
    .map((practice) => ({ practice, words: searchWords(practice.name), key: `${foldText(practice.name)}\u0000${practice.name}\u0000${practice.id}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return (query, limit) => {
    const queryWords = [...new Set(searchWords(query))]
    if (queryWords.length === 0) return byName.slice(0, limit).map(({ practice }) => practice)
    const scored: Array<{ practice: Practice, ordinal: number, strength: number, positions: number }> = []
    byName.forEach(({ practice, words }, ordinal) => {
      let strength = 0
      let positions = 0
      for (const queryWord of queryWords) {
        const budget = typoBudget(queryWord.length)
        let best = 0
        let bestPosition = 0
        words.forEach((nameWord, position) => {
          const distance = budget === 0 ? 1 : boundedEditDistance(queryWord, nameWord, budget)
          const match = nameWord === queryWord
            ? 4
            : nameWord.startsWith(queryWord) ? 3 : distance > budget ? 0 : distance === 1 ? 2 : 1
          if (match > best) { best = match; bestPosition = position }
        })
        if (best === 0) return
        strength += best
        positions += bestPosition
      }
      scored.push({ practice, ordinal, strength, positions })
    })
    scored.sort((a, b) => b.strength - a.strength || a.positions - b.positions ||
      a.practice.name.length - b.practice.name.length || a.ordinal - b.ordinal)
    const ranked = scored.map(({ practice }) => practice)
    const exactId = practices.find((practice) => practice.id.toLowerCase() === query.trim().toLowerCase())
    if (exactId === undefined) return ranked.slice(0, limit)
    return [exactId, ...ranked.filter((practice) => practice !== exactId)].slice(0, limit)
  }
}

function collectGarbage (): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
}

/** What V8 holds: the heap and the typed arrays' memory outside it (the index keeps most of its numbers there). */
function heldBytes (): number {
  collectGarbage()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

function timeQueries (search: (query: string) => unknown, rounds: number): number[] {
  for (const query of QUERIES) search(query) // warm-up, so that the figures are of steady state
  const samples: number[] = []
  for (let round = 0; round < rounds; round++) {
    for (const query of QUERIES) {
      const started = process.hrtime.bigint()
      search(query)
      samples.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
  }
  return samples.sort((a, b) => a - b)
}

const megabytes = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
const milliseconds = (ms: number): string => (ms < 1 ? ms.toFixed(3) : ms.toFixed(1))

type HeapSettings = 'gateway' | 'v8-defaults'

interface ImportFigures { ms: number, cpuMs: number, peakRssGrowth: number, kept: number, practices: number }

/**
 * One import in a fresh process (peak RSS is a process's high-water mark): `streamed` is the gateway's way
 * (entries parsed as the bytes arrive, index built in slices), `whole` parses the whole document with JSON.parse
 * first, as the import did before, into the same index. `heap`: the gateway process's own heap settings, or V8's.
 */
async function importInChild (file: string, way: 'streamed' | 'whole', heap: HeapSettings): Promise<ImportFigures> {
  const child = fork(SELF, ['import', file, way, heap], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const [figures] = await once(child, 'message') as [ImportFigures]
  await once(child, 'exit')
  return figures
}

async function importHere (file: string, way: 'streamed' | 'whole', heap: HeapSettings): Promise<ImportFigures> {
  if (heap === 'gateway') applyLeanHeapSettings(process.execArgv.join(' '))
  // Everything an import needs is loaded and compiled first, on a small directory (a large one would raise the
  // RSS high-water mark before the measurement starts), so that the figures are the import's own.
  const warmUp = path.join(mkdtempSync(path.join(tmpdir(), 'directory-bench-')), 'small.json')
  writeFileSync(warmUp, JSON.stringify(healowSizedBundle(500)))
  await runSlicesAsync(PracticeSearchIndex.build((await importDirectory(warmUp, [], { oauth: OAUTH })).practices))
  PracticeSearchIndex.of(parseDirectoryBundle(JSON.parse(readFileSync(warmUp, 'utf8')), OAUTH).practices)
  rmSync(path.dirname(warmUp), { recursive: true })
  const before = heldBytes()
  const rssBefore = process.memoryUsage().rss
  let peakRss = rssBefore
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 2)
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  // Each way in a function of its own: what a function held in its frame is gone once it has returned.
  const index = way === 'streamed' ? await importStreamed(file) : importWhole(file)
  const ms = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  clearInterval(sampler)
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  const kept = heldBytes() - before
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRssGrowth: peakRss - rssBefore, kept, practices: index.size }
}

async function importStreamed (file: string): Promise<PracticeSearchIndex> {
  return await runSlicesAsync(PracticeSearchIndex.build((await importDirectory(file, [], { oauth: OAUTH })).practices))
}

function importWhole (file: string): PracticeSearchIndex {
  return PracticeSearchIndex.of(parseDirectoryBundle(JSON.parse(readFileSync(file, 'utf8')), OAUTH).practices)
}

/** The directory file served from bench/directory-source.mjs; while held, requests wait until `release()`. */
interface DirectorySource { url: string, child: ChildProcess, hold (): Promise<void>, release (): void }

async function directorySource (file: string): Promise<DirectorySource> {
  const { child, ready } = await startChild<{ url: string }>(DIRECTORY_SOURCE, [file], [])
  return {
    url: ready.url,
    child,
    hold: async () => {
      child.send('hold')
      await once(child, 'message')
    },
    release: () => { child.send('release') }
  }
}

/** GETs of `url` at `rate` per second from bench/paced-client.mjs; stop() gives their latencies, sorted (ms). */
async function pacedRequests (url: string, rate: number): Promise<{ stop (): Promise<number[]> }> {
  const { child } = await startChild<'ready'>(PACED_CLIENT, [], [])
  child.send({ url, rate, connections: PACED_CONNECTIONS })
  await once(child, 'message')
  return {
    async stop () {
      child.send('stop')
      const [{ latencies, failures, firstFailure }] =
        await once(child, 'message') as [{ latencies: number[], failures: number, firstFailure?: string }]
      if (failures > 0) throw new Error(`${failures} requests to ${url} failed, the first with ${firstFailure}`)
      return latencies.sort((a, b) => a - b)
    }
  }
}

interface Gateway {
  url: string
  child: ChildProcess
  /** Resolves once the process has written `text`: since the call, or since its start with `sinceStart`. */
  untilLogged (text: string, sinceStart?: boolean): Promise<void>
  /** From the gateway's metrics: its longest event-loop delay since the last call, and the CPU time it has used. */
  readMetrics (): Promise<{ longestLoopDelayMs: number, cpuMs: number }>
}

let nextPort = 0
let nextMetricsPort = 0
async function startGateway (env: Record<string, string>): Promise<Gateway> {
  const port = nextPort
  const metricsUrl = `http://127.0.0.1:${nextMetricsPort}/metrics`
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HEALOW_CLIENT_ID: 'bench',
      PUBLIC_URL: url,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      SYNC_INTERVAL_HOURS: '0',
      ...env,
      PORT: String(port),
      METRICS_PORT: String(nextMetricsPort),
      HOST: '127.0.0.1'
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  // The gateway logs every request: a wait looks only at what came since it last looked, and stops looking once
  // it has found its text (rescanning the whole log on every chunk took this process's time away from measuring).
  let output = ''
  let listeners: Array<() => boolean> = []
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    listeners = listeners.filter((found) => !found())
  })
  const untilLogged = (text: string, sinceStart = false): Promise<void> => new Promise((resolve) => {
    let from = sinceStart ? 0 : output.length
    const found = (): boolean => {
      const at = output.indexOf(text, from)
      from = Math.max(from, output.length - text.length + 1)
      if (at !== -1) resolve()
      return at !== -1
    }
    if (!found()) listeners.push(found)
  })
  for (;;) {
    const ok = await fetch(`${url}/ready`).then((response) => response.ok, () => false)
    if (ok) break
    await sleep(100)
  }
  // prom-client's event-loop delay is sampled every 10 ms and reset at each scrape; its CPU time is process.cpuUsage().
  const readMetrics = async (): Promise<{ longestLoopDelayMs: number, cpuMs: number }> => {
    const metrics = await (await fetch(metricsUrl)).text()
    const metricMs = (name: string): number => {
      const value = new RegExp(`^healow_sync_${name} (\\S+)$`, 'm').exec(metrics)
      if (value === null) throw new Error(`no ${name} in ${metricsUrl}`)
      return Number(value[1]) * 1000
    }
    return { longestLoopDelayMs: metricMs('nodejs_eventloop_lag_max_seconds'), cpuMs: metricMs('process_cpu_seconds_total') }
  }
  return { url, child, untilLogged, readMetrics }
}

async function stopGateway (gateway: Gateway): Promise<void> {
  gateway.child.kill('SIGTERM')
  await once(gateway.child, 'exit')
}

/** A `/proc/{pid}/status` field in MiB (0 once the process is gone). */
function statusMiB (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return kib === null ? 0 : Number(kib[1]) / 1024
  } catch {
    return 0
  }
}

/**
 * Samples the gateway's RSS and the peak RSS of the processes it starts every 20 ms until stopped. A process
 * reports its own peak (VmHWM), so the import process's figure misses at most its last 20 ms.
 */
function sampleMemory (pid: number): { stop: () => { gatewayPeakMiB: number, importPeakMiB: number } } {
  let gatewayPeakMiB = 0
  let importPeakMiB = 0
  const timer = setInterval(() => {
    gatewayPeakMiB = Math.max(gatewayPeakMiB, statusMiB(pid, 'VmRSS'))
    for (const child of childProcessesOf(pid)) importPeakMiB = Math.max(importPeakMiB, statusMiB(child.pid, 'VmHWM'))
  }, 20)
  return { stop: () => { clearInterval(timer); return { gatewayPeakMiB, importPeakMiB } } }
}

interface HealthFigures {
  idleP50: number
  idleP99: number
  refreshP50: number
  refreshP99: number
  refreshMs: number
  requests: number
  idleLoopDelayMs: number
  refreshLoopDelayMs: number
  /** The gateway's CPU time during the refresh, less what the same time without one used. */
  refreshCpuMs: number
  gatewayIdleMiB: number
  gatewayPeakMiB: number
  importPeakMiB: number
}

/**
 * /health latency of a gateway process while nothing happens, then while it imports a refreshed directory (the
 * refresh it starts with, once it has served its stored copy, is held back and then let through). The requests
 * come at a fixed pace below the gateway's maximum, so that their latency is waiting for the event loop.
 */
async function healthDuringRefresh (file: string, rate: number): Promise<HealthFigures> {
  const source = await directorySource(file)
  const dataDir = mkdtempSync(path.join(tmpdir(), 'directory-bench-'))
  const env = { DATA_DIR: dataDir, HEALOW_DIRECTORY_URL: source.url }
  const gateways: Gateway[] = []
  try {
    const first = await startGateway(env)
    gateways.push(first)
    await first.untilLogged('practice directory refreshed', true)
    await stopGateway(first)

    await source.hold()
    const gateway = await startGateway(env) // serves the stored copy; its refresh waits for release()
    gateways.push(gateway)
    const healthUrl = `${gateway.url}/health`
    const warmUp = await pacedRequests(healthUrl, rate)
    await sleep(2000)
    await warmUp.stop()
    const quiet = await pacedRequests(healthUrl, rate)
    const quietFrom = await gateway.readMetrics()
    const quietStarted = performance.now()
    await sleep(5000)
    const quietTo = await gateway.readMetrics()
    const quietCpuPerMs = (quietTo.cpuMs - quietFrom.cpuMs) / (performance.now() - quietStarted)
    const idle = await quiet.stop()
    const refreshed = gateway.untilLogged('practice directory refreshed')
    const during = await pacedRequests(healthUrl, rate)
    const refreshFrom = await gateway.readMetrics()
    const gatewayIdleMiB = statusMiB(gateway.child.pid!, 'VmRSS')
    const memory = sampleMemory(gateway.child.pid!)
    const started = performance.now()
    source.release()
    await refreshed
    const refreshMs = performance.now() - started
    const { gatewayPeakMiB, importPeakMiB } = memory.stop()
    const refreshTo = await gateway.readMetrics()
    const busy = await during.stop()
    return {
      idleP50: percentile(idle, 0.5),
      idleP99: percentile(idle, 0.99),
      refreshP50: percentile(busy, 0.5),
      refreshP99: percentile(busy, 0.99),
      refreshMs,
      requests: busy.length,
      idleLoopDelayMs: quietTo.longestLoopDelayMs,
      refreshLoopDelayMs: refreshTo.longestLoopDelayMs,
      refreshCpuMs: refreshTo.cpuMs - refreshFrom.cpuMs - quietCpuPerMs * refreshMs,
      gatewayIdleMiB,
      gatewayPeakMiB,
      importPeakMiB
    }
  } finally {
    for (const gateway of gateways) {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) await stopGateway(gateway)
    }
    source.child.kill()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  const directories: Array<{ label: string, file: string }> = []
  if (existsSync(REAL_DIRECTORY)) directories.push({ label: 'real Healow directory', file: REAL_DIRECTORY })
  const scratch = mkdtempSync(path.join(tmpdir(), 'directory-bench-'))
  const syntheticFile = path.join(scratch, 'synthetic.json')
  writeFileSync(syntheticFile, JSON.stringify(healowSizedBundle()))
  directories.push({ label: `generated, ${HEALOW_2026_PRACTICES.toLocaleString('en')} practices`, file: syntheticFile })
  // Imported here, not at the top: the helpers module loads the whole app, which an import child must not.
  const { freePort } = await import('../test/helpers/app.js')
  nextPort = await freePort()
  nextMetricsPort = await freePort()

  console.log(`Node ${process.version}. Import figures: each in a fresh process; "kept" is what V8 holds after GC ` +
    '(heap and typed arrays) once the index is built, per practice in brackets.\n')
  console.log('| directory | document | import | time (CPU time) | peak RSS growth | kept after GC |')
  console.log('|---|---:|---|---:|---:|---:|')
  for (const { label, file } of directories) {
    const size = `${megabytes(readFileSync(file).length)} MB`
    // With V8's own settings the import's garbage grows the young generation to its default maximum (2 × 16 MB),
    // most of the peak; the gateway caps it (lib/heap-settings.ts).
    const ways = [['streamed', 'gateway'], ['streamed', 'v8-defaults'], ['whole', 'v8-defaults']] as const
    for (const [way, heap] of ways) {
      const figures = await importInChild(file, way, heap)
      const wayLabel = (way === 'streamed' ? 'streamed, index in slices' : 'JSON.parse of the whole document') +
        (heap === 'gateway' ? ", the gateway's heap settings" : ", V8's heap settings")
      console.log(`| ${label} (${figures.practices}) | ${size} | ${wayLabel} | ${Math.round(figures.ms)} ms (${Math.round(figures.cpuMs)} ms) | ` +
        `${megabytes(figures.peakRssGrowth)} MB | ${megabytes(figures.kept)} MB (${Math.round(figures.kept / figures.practices)} B) |`)
    }
  }

  console.log('\n| directory | search | p50 (ms) | p99 (ms) | samples | results as the naive scan |')
  console.log('|---|---|---:|---:|---:|---:|')
  let disagreements = 0
  for (const { label, file } of directories) {
    const { practices } = await importDirectory(file, [], { oauth: OAUTH })
    const index = PracticeSearchIndex.of(practices)
    const naiveSearch = naiveSearcher(practices)
    let same = 0
    for (const query of QUERIES) {
      const fast = index.search(query, LIMIT).practices.map((practice) => practice.id).join()
      const naive = naiveSearch(query, LIMIT).map((practice) => practice.id).join()
      if (fast === naive) same++
      else console.error(`results differ for "${query}"`)
    }
    disagreements += QUERIES.length - same
    const indexed = timeQueries((query) => index.search(query, LIMIT), 200)
    const naive = timeQueries((query) => naiveSearch(query, LIMIT), 10)
    const agreement = `${same}/${QUERIES.length}`
    console.log(`| ${label} | index | ${milliseconds(percentile(indexed, 0.5))} | ${milliseconds(percentile(indexed, 0.99))} | ${indexed.length} | ${agreement} |`)
    console.log(`| ${label} | naive scan | ${milliseconds(percentile(naive, 0.5))} | ${milliseconds(percentile(naive, 0.99))} | ${naive.length} | |`)
    console.log(`| ${label} | **speed-up at p50** | **${Math.round(percentile(naive, 0.5) / percentile(indexed, 0.5))}×** | | | |`)
  }

  console.log('\nGET /health of a gateway process (`node dist/server.js`, SQLite, logging each request at info), sent at the rate ' +
    `shown over ${PACED_CONNECTIONS} connections opened beforehand by a process of its own, each timed from when ` +
    'it was due (bench/paced-client.mjs), 5 s ' +
    'without a refresh, then during the refresh import of the generated directory (download from loopback, served by ' +
    "another process; import, index, stored copy saved), the gateway's longest event-loop delay in each phase " +
    '(its metrics listener on), its CPU time during the refresh less what the same time without one used, and memory: the gateway\'s RSS before the refresh and at its peak during it, and the ' +
    'peak RSS of the process it imports the directory in (sampled every 20 ms from /proc):\n')
  console.log('| rate | round | p50 / p99 without (ms) | p50 / p99 during the refresh (ms) | **p99 ratio** | refresh took | requests during it | ' +
    "the gateway's longest event-loop delay without / during (ms) | the gateway's CPU for the refresh (ms) | " +
    'gateway RSS before / peak (MiB) | import process peak RSS (MiB) |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  // A p99 over a refresh of under a second is a handful of requests: one round says little, so each rate gets several.
  for (const rate of [200, 1000]) {
    for (let round = 1; round <= HEALTH_ROUNDS; round++) {
      const h = await healthDuringRefresh(syntheticFile, rate)
      console.log(`| ${rate}/s | ${round} | ${milliseconds(h.idleP50)} / ${milliseconds(h.idleP99)} | ` +
        `${milliseconds(h.refreshP50)} / ${milliseconds(h.refreshP99)} | ` +
        `**${(h.refreshP99 / h.idleP99).toFixed(1)}×** | ${Math.round(h.refreshMs)} ms | ${h.requests} | ` +
        `${milliseconds(h.idleLoopDelayMs)} / ${milliseconds(h.refreshLoopDelayMs)} | ${Math.round(h.refreshCpuMs)} | ` +
        `${h.gatewayIdleMiB.toFixed(1)} / ${h.gatewayPeakMiB.toFixed(1)} | ${h.importPeakMiB.toFixed(1)} |`)
    }
  }
  rmSync(scratch, { recursive: true, force: true })
  if (disagreements > 0) process.exitCode = 1
}

if (process.argv[2] === 'import') {
  process.send!(await importHere(process.argv[3], process.argv[4] as 'streamed' | 'whole', process.argv[5] as HeapSettings))
} else {
  buildDist()
  await main()
}
