// The FHIR proxy's cost: GETs of a ~2 KB Bundle with 50 connections against the upstream
// directly, a bare @fastify/http-proxy with no auth, and the gateway (key check, vault, token
// injection, link rewrite); then a 100 MB Binary through the gateway against direct, with the
// gateway's peak memory growth. Each server runs in its own process, both proxies with node
// itself (the gateway compiled, as `npm start` runs it; the bare proxy in plain JavaScript);
// autocannon runs here.
// Where taskset exists, the proxy under test gets a core of its own and everything else shares
// the rest, so that a proxy's throughput is its own cost, not its share of a contended core.
// Run: npx tsx bench/fhir-proxy.ts   (prints a Markdown section for BENCHMARKS.md)
import { execFileSync, type ChildProcess } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon'
import { Pool, request } from 'undici'
import { largeBinaryBody } from '../simulator/large-binary.js'
import { buildDist, startChild } from './children.js'
import { ACCESS_TOKEN, PRACTICE, startDeployedGateway } from './deployed-gateway.js'
import { median, percentile } from './stats.js'

const SELF = fileURLToPath(import.meta.url)
const MEMORY_PROBE = new URL('./memory-probe.mjs', import.meta.url).href
const BARE_PROXY = fileURLToPath(new URL('./bare-proxy.mjs', import.meta.url))
const BINARY_BYTES = 100 * 1024 * 1024
const DURATION_S = 10
/**
 * Saturated runs alternate the targets for this many rounds: a burst of noise on the VM then spoils one round,
 * not the figure.
 */
const ROUNDS = 5
const ROUND_S = 5
const CONNECTIONS = 50
const SEQUENTIAL_REQUESTS = 3000

type Ready = { url: string, alias?: string, connectionId?: string, key?: string }

/** A ~2 KB searchset whose links point at the alias host, as Healow's do. */
function bundleFor (alias: string): string {
  const base = `${alias}/fhir/r4/${PRACTICE}`
  const entry = (i: number) => ({
    fullUrl: `${base}/Observation/obs-${i}`,
    resource: { resourceType: 'Observation', id: `obs-${i}`, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] }, subject: { reference: 'Patient/p1' }, effectiveDateTime: '2024-03-01T10:00:00Z', valueQuantity: { value: 70 + i, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } },
    search: { mode: 'match' }
  })
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'searchset',
    total: 50,
    link: [{ relation: 'self', url: `${base}/Observation?patient=p1` }, { relation: 'next', url: `${base}?_getpages=Observation.p1&_getpagesoffset=4&_count=4&_bundletype=searchset` }],
    entry: [0, 1, 2, 3].map(entry)
  })
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void

async function listen (handler: Handler): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** The stand-in for Healow: checks the bearer token, answers the Bundle or streams the Binary. */
async function upstream (): Promise<Ready> {
  let body = ''
  const handler: Handler = (req, res) => {
    if (req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) { res.writeHead(401).end(); return }
    if (req.url === `/fhir/r4/${PRACTICE}/Binary/large`) {
      const { length, stream } = largeBinaryBody(BINARY_BYTES, 1)
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': length })
      stream.pipe(res)
      return
    }
    res.writeHead(200, { 'content-type': 'application/json+fhir;charset=UTF-8', 'set-cookie': 'AWSALB=x; Path=/' }).end(body)
  }
  const url = await listen(handler)
  const alias = await listen(handler)
  body = bundleFor(alias)
  return { url, alias }
}

type Started = { child: ChildProcess, ready: Ready }
/** Bytes, as bench/memory-probe.mjs samples them. */
type Memory = { rss: number, v8: number }

async function startGateway (upstreamUrl: string, alias: string): Promise<Started> {
  const gateway = await startDeployedGateway({
    upstreamUrl,
    alias,
    // METRICS_PORT=<port> npx tsx bench/fhir-proxy.ts measures the gateway with its metrics on.
    env: process.env.METRICS_PORT ? { METRICS_PORT: process.env.METRICS_PORT } : {},
    // GATEWAY_NODE_ARGS='--max-semi-space-size=4' npx tsx bench/fhir-proxy.ts measures a Node setting's CPU cost.
    execArgv: ['--expose-gc', '--import', MEMORY_PROBE, ...(process.env.GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean)]
  })
  return { child: gateway.child, ready: { url: gateway.url, connectionId: gateway.connectionId, key: gateway.key } }
}

/** Pins a process (all its threads) to some CPUs; false where taskset is missing or refuses. */
function pin (pid: number, cpuList: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** One connection, one request at a time: the latency a hop adds when nothing queues, to the microsecond. */
async function sequentialLatency (url: string, headers: Record<string, string>): Promise<{ p50: number, p99: number }> {
  const target = new URL(url)
  const pool = new Pool(target.origin, { connections: 1 })
  const samples: number[] = []
  try {
    for (let i = 0; i < SEQUENTIAL_REQUESTS + 300; i++) {
      const started = process.hrtime.bigint()
      const res = await pool.request({ path: target.pathname + target.search, method: 'GET', headers })
      await res.body.text()
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`)
      if (i >= 300) samples.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
  } finally {
    await pool.close()
  }
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) }
}

function ask<T> (child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => { child.once('message', (m) => resolve(m as T)); child.send(message) })
}

type Target = { url: string, headers: Record<string, string>, pid: number }
type Run = { rps: number, p50: number, p99: number, cpuUs: number }

/** One autocannon run against a target, with the CPU its serving process spent per request. */
async function load (
  { url, headers, pid }: Target,
  {
    rate,
    duration = DURATION_S,
    connections = CONNECTIONS
  }: { rate?: number, duration?: number, connections?: number } = {}
): Promise<Run> {
  const before = cpuSeconds(pid)
  const result = await autocannon({ url, headers, connections, duration, ...(rate ? { overallRate: rate } : {}) })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  const total = result.requests.total as number
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: (cpuSeconds(pid) - before) / total * 1e6
  }
}

const LABELS = { direct: 'upstream directly', bare: 'bare @fastify/http-proxy', gateway: 'gateway' } as const
type TargetName = keyof typeof LABELS

/** CPU seconds (user + system) a process has used so far: a steadier cost measure than req/s on a shared VM. */
function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  // utime and stime are the 14th and 15th fields of the whole line (the 12th and 13th after the name).
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * Bare proxy and gateway loaded at the same time on the one core they are pinned to: a change in
 * the VM's speed then hits both alike, and the ratio of their CPU per request holds steady where
 * rounds taken one after the other swing with it. Per round, gateway µs per request ÷ bare's.
 */
async function sharedCoreCostRatios (bare: Target, gateway: Target): Promise<number[]> {
  const ratios: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const [b, g] = await Promise.all([bare, gateway].map((target) => load(
      target,
      { duration: ROUND_S, connections: CONNECTIONS / 2 }
    )))
    ratios.push(g.cpuUs / b.cpuUs)
  }
  return ratios
}

async function download (url: string, headers: Record<string, string>): Promise<{ seconds: number, bytes: number }> {
  const started = process.hrtime.bigint()
  const res = await request(url, { headers })
  let bytes = 0
  for await (const chunk of res.body) bytes += (chunk as Buffer).length
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`)
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes }
}

async function main (): Promise<void> {
  // The gateway runs compiled, as `npm start` runs it: under tsx the same code costs ~6% more CPU per read.
  buildDist()
  const up = await startChild<Ready>(SELF, ['upstream'], ['--import', 'tsx'])
  const bare = await startChild<Ready>(BARE_PROXY, [up.ready.url], [])
  const gw = await startGateway(up.ready.url, up.ready.alias!)
  const children = [up.child, bare.child, gw.child]
  const cores = cpus().length
  const pinned = cores >= 2 && pin(bare.child.pid!, '0') && pin(gw.child.pid!, '0') && pin(up.child.pid!, `1-${cores - 1}`) && pin(process.pid, `1-${cores - 1}`)
  try {
    const token = { authorization: `Bearer ${ACCESS_TOKEN}` }
    const key = { authorization: `Bearer ${gw.ready.key}` }
    const search = `/fhir/r4/${PRACTICE}/Observation?patient=p1`
    const targets: Record<TargetName, Target> = {
      direct: { url: `${up.ready.url}${search}`, headers: token, pid: up.child.pid! },
      bare: { url: `${bare.ready.url}${search}`, headers: token, pid: bare.child.pid! },
      gateway: { url: `${gw.ready.url}/fhir/${gw.ready.connectionId}/Observation?patient=p1`, headers: key, pid: gw.child.pid! }
    }
    const names = Object.keys(LABELS) as TargetName[]
    const sample = await request(targets.gateway.url, { headers: key })
    const sampleBody = await sample.body.text()
    if (sample.statusCode !== 200 || !sampleBody.includes(`/fhir/${gw.ready.connectionId}?_getpages=`)) throw new Error(`gateway answered ${sample.statusCode}: ${sampleBody.slice(0, 200)}`)
    const bundleBytes = Buffer.byteLength(bundleFor(up.ready.alias!))

    // Warm-up.
    for (const { url, headers } of Object.values(targets)) {
      await autocannon({ url, headers, connections: CONNECTIONS, duration: 2 })
    }
    const rounds: Array<Record<TargetName, Run>> = []
    for (let round = 0; round < ROUNDS; round++) {
      const runs = {} as Record<TargetName, Run>
      for (const name of names) runs[name] = await load(targets[name], { duration: ROUND_S })
      rounds.push(runs)
    }
    const medianOf = (name: TargetName, field: keyof Run) => median(rounds.map((r) => r[name][field]))
    const saturated = Object.fromEntries(names.map((name) => [name, { rps: medianOf(name, 'rps'), p50: medianOf(name, 'p50'), p99: medianOf(name, 'p99'), cpuUs: medianOf(name, 'cpuUs') }])) as Record<TargetName, Run>
    const throughputRatios = rounds.map((r) => r.gateway.rps / r.bare.rps)
    const cpuRatios = rounds.map((r) => r.gateway.cpuUs / r.bare.cpuUs)
    const sharedCore = pinned ? await sharedCoreCostRatios(targets.bare, targets.gateway) : []
    const rate = Math.floor(saturated.gateway.rps * 0.5)
    const paced = {} as Record<TargetName, Run>
    for (const name of names) paced[name] = await load(targets[name], { rate })
    const sequential = {} as Record<TargetName, { p50: number, p99: number }>
    for (const name of names) sequential[name] = await sequentialLatency(targets[name].url, targets[name].headers)

    // The download runs as a deployment runs, unpinned: on one core, V8's parallel GC helpers wait
    // behind the stream and the young generation grows, which says nothing about buffering.
    if (pinned) for (const child of children) pin(child.pid!, `0-${cores - 1}`)
    const binaryPath = `/fhir/r4/${PRACTICE}/Binary/large`
    await download(`${up.ready.url}${binaryPath}`, token)
    const direct = await download(`${up.ready.url}${binaryPath}`, token)
    await ask(gw.child, 'memory:start')
    const through = await download(`${gw.ready.url}/fhir/${gw.ready.connectionId}/Binary/large`, key)
    const memory = await ask<{ start: Memory, peak: Memory }>(gw.child, 'memory:peak')
    if (through.bytes !== direct.bytes) throw new Error(`Binary: ${through.bytes} bytes through the gateway, ${direct.bytes} direct`)

    const ms = (n: number) => n.toFixed(2)
    const us = (n: number) => (n * 1000).toFixed(0)
    const loadTable = (runs: Record<TargetName, Run>) => ['| target | req/s | p50 ms | p99 ms |', '|---|---|---|---|',
      ...names.map((name) => `| ${LABELS[name]} | ${Math.round(runs[name].rps)} | ${ms(runs[name].p50)} | ${ms(runs[name].p99)} |`)]
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
    process.stdout.write([
      `Machine: ${cores} × ${cpus()[0]?.model.trim()}, Node ${process.version}; upstream, bare proxy and gateway each in its own process, autocannon in a fourth; ${pinned ? `the proxies pinned to CPU 0, the upstream and autocannon to CPU${cores > 2 ? `s 1-${cores - 1}` : ' 1'} (taskset) for the Bundle runs, nothing pinned for the Binary download` : 'no CPU pinning (taskset unavailable)'}; a 2 s warm-up per target; gateway compiled (\`node dist/server.js\`) at LOG_LEVEL=warn.`,
      '',
      `Bundle of ${bundleBytes} bytes, ${CONNECTIONS} connections, as fast as possible; ${ROUNDS} rounds of ${ROUND_S} s, the three targets in turn, medians:`,
      '',
      ...loadTable(saturated),
      '',
      `Gateway throughput: **${median(throughputRatios).toFixed(2)}×** the bare proxy (median of the rounds' ratios; rounds: ${throughputRatios.map((r) => r.toFixed(2)).join(', ')}; target ≥ 0.85×), ${(saturated.gateway.rps / saturated.direct.rps).toFixed(2)}× direct.`,
      '',
      `CPU per request in the serving process (medians): upstream ${saturated.direct.cpuUs.toFixed(0)} µs, bare proxy ${saturated.bare.cpuUs.toFixed(0)} µs, gateway ${saturated.gateway.cpuUs.toFixed(0)} µs (**${median(cpuRatios).toFixed(2)}×** the bare proxy's; rounds: ${cpuRatios.map((r) => r.toFixed(2)).join(', ')}).`,
      '',
      sharedCore.length > 0
        ? `Both proxies loaded at once on their shared core (${CONNECTIONS / 2} connections each, ${ROUNDS} rounds of ${ROUND_S} s), so that a change in the VM's speed hits both alike: the gateway spends **${median(sharedCore).toFixed(2)}×** the bare proxy's CPU per request (rounds: ${sharedCore.map((r) => r.toFixed(2)).join(', ')}); a throughput of ${(1 / median(sharedCore)).toFixed(2)}× the bare proxy's on a core of its own.`
        : 'Both proxies loaded at once on a shared core: not measured (no CPU pinning).',
      '',
      `Same ${CONNECTIONS} connections paced at ${rate} req/s in total (half the gateway's maximum), so that latency is not queueing:`,
      '',
      ...loadTable(paced),
      '',
      `CPU per request at that same rate: bare proxy ${paced.bare.cpuUs.toFixed(0)} µs, gateway ${paced.gateway.cpuUs.toFixed(0)} µs (**${(paced.gateway.cpuUs / paced.bare.cpuUs).toFixed(2)}×**; at saturation a proxy answers several requests per event-loop turn and gets cheaper per request).`,
      '',
      `Added by the gateway over direct at that rate (autocannon measures whole milliseconds): p50 +${ms(paced.gateway.p50 - paced.direct.p50)} ms, p99 +${ms(paced.gateway.p99 - paced.direct.p99)} ms; over the bare proxy: p50 +${ms(paced.gateway.p50 - paced.bare.p50)} ms, p99 +${ms(paced.gateway.p99 - paced.bare.p99)} ms.`,
      '',
      `One connection, one request at a time (${SEQUENTIAL_REQUESTS} GETs after 300 warm-up, timed to the microsecond), so that no request waits behind another:`,
      '',
      '| target | p50 µs | p99 µs |', '|---|---|---|',
      ...names.map((name) => `| ${LABELS[name]} | ${us(sequential[name].p50)} | ${us(sequential[name].p99)} |`),
      '',
      `Added by the gateway over direct: p50 **+${us(sequential.gateway.p50 - sequential.direct.p50)} µs**, p99 **+${us(sequential.gateway.p99 - sequential.direct.p99)} µs** (target ≤ 2 ms); over the bare proxy: p50 +${us(sequential.gateway.p50 - sequential.bare.p50)} µs, p99 +${us(sequential.gateway.p99 - sequential.bare.p99)} µs.`,
      '',
      `100 MB Binary (${mb(through.bytes)} MiB of FHIR JSON), one download: direct ${(through.bytes / direct.seconds / 1e6).toFixed(0)} MB/s, through the gateway ${(through.bytes / through.seconds / 1e6).toFixed(0)} MB/s (**${(direct.seconds / through.seconds).toFixed(2)}×** direct); the gateway's peak growth (target < 32 MB): what V8 holds (heap in use + external) **${mb(memory.peak.v8 - memory.start.v8)} MiB**, resident memory ${mb(memory.peak.rss - memory.start.rss)} MiB (after the Bundle runs the allocator may already hold freed memory the download reuses).`,
      ''
    ].join('\n'))
  } finally {
    for (const child of children) child.kill()
  }
}

if (process.argv[2] === 'upstream') process.send!(await upstream())
else await main()
