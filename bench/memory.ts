// The gateway's resident memory, as a self-hoster sees it: `node dist/server.js` with no Node
// options, SQLite vault, LOG_LEVEL=warn. In one run:
//  - idle RSS after the practice directory is loaded, with the real directory (HEALOW_DIRECTORY_FILE,
//    by default the fixture at /work/shared/fixtures/healow-endpoints-bundle.json; skipped with a note
//    when absent) and with a synthetic one of 17,291 practices in Healow's shape;
//  - peak RSS under 50 concurrent Bundle reads for 60 s (a 50-entry Observation search page as the
//    Healow simulator writes it, links on the alias host, so that every read is rewritten), and the RSS
//    a minute after;
//  - what one open connection and one request in flight cost.
// RSS is read from /proc (VmRSS, and VmHWM reset before the load for its peak), so nothing is loaded
// into the server to measure it. Linux only.
// Run: npx tsx bench/memory.ts   (prints a Markdown section for BENCHMARKS.md)
// Shorter, for trying a change: IDLE_S=20 LOAD_S=20 AFTER_S=20 npx tsx bench/memory.ts (NO_BUILD=1: dist/ as it is);
// with Node options for the gateway: GATEWAY_NODE_ARGS='--max-semi-space-size=1' npx tsx bench/memory.ts;
// with variables in its environment: GATEWAY_ENV='MALLOC_TRIM_THRESHOLD_=131072' npx tsx bench/memory.ts
import type { ChildProcess } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon'
import { request } from 'undici'
import { PatientRecords } from '../simulator/patient-records.js'
import { buildPractices, DEFAULT_PRACTICES } from '../simulator/practices.js'
import { searchBundle } from '../simulator/search-bundle.js'
import { healowSizedBundle } from '../test/helpers/synthetic-bundle.js'
import { buildDist, startChild } from './children.js'
import { ACCESS_TOKEN, PRACTICE, startDeployedGateway, type DeployedGateway } from './deployed-gateway.js'

const SELF = fileURLToPath(import.meta.url)
const DEFAULT_DIRECTORY = '/work/shared/fixtures/healow-endpoints-bundle.json'
const SYNTHETIC_PRACTICES = 17_291
const CONNECTIONS = 50
const ENTRIES = 50
/** Seconds from "directory loaded" (/ready answers 200) to the idle figure. */
const IDLE_S = Number(process.env.IDLE_S ?? 60)
const LOAD_S = Number(process.env.LOAD_S ?? 60)
/** Node options for the gateway process (GATEWAY_NODE_ARGS), to measure a setting; none by default. */
const NODE_ARGS = (process.env.GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean)
const AFTER_S = Number(process.env.AFTER_S ?? 60)
const OPEN_SOCKETS = 1000
const IN_FLIGHT = 200
/** How long the upstream holds a "slow" answer: the requests in flight are counted meanwhile. */
const HOLD_MS = 4000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const mib = (kib: number) => (kib / 1024).toFixed(1)

/** A 50-entry Observation search page as the simulator answers it, its links on the alias host. */
function bundleText (alias: string): string {
  const [practice] = buildPractices(DEFAULT_PRACTICES, alias, 1)
  const records = new PatientRecords(practice, 1, 400)
  const base = `${alias}/fhir/r4/${PRACTICE}`
  return JSON.stringify(searchBundle(records, { type: 'Observation', patientId: 'p1', offset: 0, count: ENTRIES }, base, `${base}/Observation?patient=p1`))
}

async function listen (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** Where the stand-in listens, and the size of the Bundle it answers. */
export type StandIn = { url: string, alias: string, bytes: number }

/** The stand-in for Healow, in its own process: the Bundle at once, or after HOLD_MS on `slow=1`. */
async function upstream (): Promise<StandIn> {
  let body = ''
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) { res.writeHead(401).end(); return }
    const answer = () => res.writeHead(200, { 'content-type': 'application/fhir+json;charset=UTF-8' }).end(body)
    if (req.url?.includes('slow=1')) setTimeout(answer, HOLD_MS)
    else answer()
  }
  const url = await listen(handler)
  const alias = await listen(handler)
  body = bundleText(alias)
  return { url, alias, bytes: Buffer.byteLength(body) }
}

/** KiB of the process's resident set now (VmRSS) or at its peak (VmHWM). */
function residentKib (pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(match[1])
}

/** Starts VmHWM again from the current RSS; false where the kernel does not allow it. */
function resetPeak (pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** The highest RSS seen while `work` runs, sampled every 100 ms and from VmHWM when it can be reset. */
async function peakDuring (pid: number, work: Promise<unknown>): Promise<number> {
  const hwm = resetPeak(pid)
  let peak = residentKib(pid)
  const sampler = setInterval(() => { peak = Math.max(peak, residentKib(pid)) }, 100)
  try {
    await work
  } finally {
    clearInterval(sampler)
  }
  return Math.max(peak, residentKib(pid), hwm ? residentKib(pid, 'VmHWM') : 0)
}

/** RSS at "directory loaded" and at the given seconds after it. */
async function idleTimeline (pid: number, marks: number[]): Promise<Array<[number, number]>> {
  const started = Date.now()
  const timeline: Array<[number, number]> = [[0, residentKib(pid)]]
  for (const mark of marks) {
    await sleep(Math.max(0, started + mark * 1000 - Date.now()))
    timeline.push([mark, residentKib(pid)])
  }
  return timeline
}

function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => { child.once('exit', () => resolve()); child.kill() })
}

/** `count` idle keep-alive sockets to the gateway, each after one request (so that Fastify holds its state). */
async function openSockets (url: string, count: number): Promise<Socket[]> {
  const { hostname, port } = new URL(url)
  const sockets: Socket[] = []
  for (let i = 0; i < count; i++) {
    const socket = connect(Number(port), hostname)
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.once('data', () => resolve())
      socket.write(`GET /health HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`)
    })
    sockets.push(socket)
  }
  return sockets
}

async function main (): Promise<void> {
  buildDist()
  const { child: up, ready: stand } = await startChild<StandIn>(SELF, ['upstream'], ['--import', 'tsx'])
  const marks = [5, 15, 30, IDLE_S].filter((s, i, all) => s <= IDLE_S && all.indexOf(s) === i)
  const lines: string[] = []
  const load = `${loadavg().map((n) => n.toFixed(2)).join(', ')}`
  const started = async (directory: string): Promise<DeployedGateway> => await startDeployedGateway({
    upstreamUrl: stand.url, alias: stand.alias, env: { HEALOW_DIRECTORY_URL: directory }, readyPath: '/ready', readyTimeoutMs: 60_000, execArgv: NODE_ARGS
  })
  const timelineText = (timeline: Array<[number, number]>) => timeline.map(([s, kib]) => `${s} s: ${mib(kib)}`).join(', ')

  try {
    // The synthetic directory first: its gateway is only measured idle.
    const scratch = mkdtempSync(path.join(tmpdir(), 'healow-sync-bench-memory-'))
    const syntheticFile = path.join(scratch, 'synthetic-directory.json')
    writeFileSync(syntheticFile, JSON.stringify(healowSizedBundle(SYNTHETIC_PRACTICES)))
    const synthetic = await started(syntheticFile)
    const syntheticIdle = await idleTimeline(synthetic.child.pid!, marks)
    await stop(synthetic.child)

    const realFile = process.env.HEALOW_DIRECTORY_FILE ?? DEFAULT_DIRECTORY
    const real = existsSync(realFile) ? await started(realFile) : undefined
    if (real === undefined) {
      lines.push(`Real directory: **skipped**, ${realFile} is absent (set HEALOW_DIRECTORY_FILE to Healow's Endpoint Bundle).`, '')
    }
    // The load runs against the real directory's gateway when there is one, else a synthetic one's.
    const target = real ?? await started(syntheticFile)
    const pid = target.child.pid!
    const realIdle = real ? await idleTimeline(pid, marks) : undefined

    const bundleUrl = `${target.url}/fhir/${target.connectionId}/Observation?patient=p1`
    const headers = { authorization: `Bearer ${target.key}` }
    const check = await request(bundleUrl, { headers })
    const checked = await check.body.text()
    if (check.statusCode !== 200 || !checked.includes(`/fhir/${target.connectionId}?_getpages=`)) throw new Error(`the gateway answered ${check.statusCode}: ${checked.slice(0, 200)}`)
    const idleBefore = residentKib(pid)
    // What one idle keep-alive connection and one request in flight hold.
    // Measured idle, before the load, when nothing else moves the heap (V8 may still shrink it meanwhile).
    const beforeSockets = residentKib(pid)
    const sockets = await openSockets(target.url, OPEN_SOCKETS)
    await sleep(1000)
    const perSocket = (residentKib(pid) - beforeSockets) / OPEN_SOCKETS
    for (const socket of sockets) socket.destroy()
    await sleep(2000)
    const beforeInFlight = residentKib(pid)
    const slow = Array.from({ length: IN_FLIGHT }, () => request(`${bundleUrl}&slow=1`, { headers }).then((res) => res.body.text()))
    await sleep(HOLD_MS / 2)
    const perInFlight = (residentKib(pid) - beforeInFlight) / IN_FLIGHT
    await Promise.all(slow)

    let result: { requests: { total: number, average: number }, non2xx: number, errors: number } | undefined
    const peak = await peakDuring(pid, (async () => {
      result = await autocannon({ url: bundleUrl, headers, connections: CONNECTIONS, duration: LOAD_S })
    })())
    if (result!.non2xx > 0 || result!.errors > 0) throw new Error(`load: ${result!.non2xx} non-2xx, ${result!.errors} errors`)
    const afterMarks = [10, 30, AFTER_S].filter((s, i, all) => s <= AFTER_S && all.indexOf(s) === i)
    const afterTimeline = await idleTimeline(pid, afterMarks)
    const after = afterTimeline[afterTimeline.length - 1][1]

    await stop(target.child)
    lines.unshift(
      `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, load average ${load} at the start; the gateway as \`${process.env.GATEWAY_ENV ? `${process.env.GATEWAY_ENV} ` : ''}node ${NODE_ARGS.length > 0 ? `${NODE_ARGS.join(' ')} ` : ''}dist/server.js\`${NODE_ARGS.length > 0 ? '' : ' (no Node options)'}, SQLite vault, LOG_LEVEL=warn, in its own process; RSS from /proc/{pid}/status.`,
      ''
    )
    const row = (what: string, value: string) => `| ${what} | ${value} |`
    // V8 may give memory back while the sockets or requests are held, which makes the difference meaningless.
    const perItem = (kib: number) => kib >= 0 ? `${kib.toFixed(1)} KiB` : `not measured: RSS fell by ${(-kib).toFixed(1)} KiB each meanwhile`
    const final = (timeline: Array<[number, number]>) => mib(timeline[timeline.length - 1][1])
    lines.push(
      '| what | MiB RSS |', '|---|---|',
      ...(realIdle ? [row(`idle, ${IDLE_S} s after the real directory is loaded (${realFile.split('/').pop()})`, `**${final(realIdle)}**`)] : []),
      row(`idle, ${IDLE_S} s after a synthetic directory of ${SYNTHETIC_PRACTICES.toLocaleString('en-US')} practices is loaded`, `**${final(syntheticIdle)}**`),
      row(`peak under ${CONNECTIONS} concurrent Bundle reads for ${LOAD_S} s (${stand.bytes.toLocaleString('en-US')}-byte Bundle, ${ENTRIES} entries, ${Math.round(result!.requests.average)} reads/s)`, `**${mib(peak)}**`),
      row(`${AFTER_S} s after the load (idle before it: ${mib(idleBefore)})`,
        `**${mib(after)}** (${after - idleBefore >= 0 ? '+' : ''}${mib(after - idleBefore)})`),
      row(`one idle keep-alive connection (${OPEN_SOCKETS} opened)`, perItem(perSocket)),
      row(`one Bundle read in flight (${IN_FLIGHT} held by the upstream)`, perItem(perInFlight)),
      '',
      `RSS over time (seconds after /ready, MiB): real directory ${realIdle ? timelineText(realIdle) : '—'}; synthetic ${timelineText(syntheticIdle)}; after the load ${timelineText(afterTimeline)}.`,
      `Load average at the end: ${loadavg().map((n) => n.toFixed(2)).join(', ')}.`,
      ''
    )
    process.stdout.write(lines.join('\n'))
  } finally {
    up.kill()
  }
}

if (process.argv[2] === 'upstream') process.send!(await upstream())
else await main()
