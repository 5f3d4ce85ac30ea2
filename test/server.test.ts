import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startSimulator, type Simulator } from '../simulator/index.js'
import { gatewaySettings } from '../simulator/cli-options.js'
import { freePort, tempDir } from './helpers/app.js'
import { startGatewayProcess } from './helpers/gateway-process.js'
import { childProcessesOf } from './helpers/processes.js'
import { bearer, connectPatient } from './helpers/connect.js'

const root = fileURLToPath(new URL('..', import.meta.url))
// npm start compiles the server before it starts: tens of seconds on a busy two-core machine.
t.setTimeout(300_000)

interface Running { child: ChildProcess, output: () => string }

/** The server as an operator runs it, for a start that must fail (startGatewayProcess waits for /ready). */
function startServer (env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
    cwd: root, env: { PATH: process.env.PATH, LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', (d) => { output += d })
  child.stderr!.on('data', (d) => { output += d })
  return { child, output: () => output }
}

t.test('no configuration: exits non-zero and names the missing variables in plain words', async (t) => {
  const running = startServer({ DATA_DIR: tempDir(t) })
  const [code] = await once(running.child, 'exit')
  t.equal(code, 1)
  t.match(running.output(), /HEALOW_CLIENT_ID is required/)
  t.match(running.output(), /PUBLIC_URL is required/)
  t.notMatch(running.output(), /at .*\.ts:\d+/, 'no stack trace')
})

t.test('start-up problems an operator can fix: one line naming the setting, no stack trace, no hang', async (t) => {
  const file = path.join(tempDir(t), 'a-file')
  writeFileSync(file, '')
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { taken.close() })
  const takenPort = (taken.address() as AddressInfo).port
  const minimal = { HEALOW_CLIENT_ID: 'x', PUBLIC_URL: 'http://127.0.0.1:1', HEALOW_DIRECTORY_URL: '/nonexistent', HOST: '127.0.0.1' }
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ DATA_DIR: '/proc/healow-sync-test/data', PORT: '0' }, /^healow-sync cannot start: DATA_DIR "\/proc\/healow-sync-test\/data" cannot be created: mkdir \/proc\/healow-sync-test failed \(ENOENT\)\n$/],
    [{ DATA_DIR: path.join(file, 'data'), PORT: '0' }, /^healow-sync cannot start: DATA_DIR ".*" cannot be created: .*a-file is a file, not a directory\n$/],
    [{ DATA_DIR: tempDir(t), PORT: String(takenPort), LOG_LEVEL: 'silent' }, new RegExp(`^healow-sync cannot start: PORT ${takenPort} is already in use \\(127\\.0\\.0\\.1:${takenPort}\\); set PORT to a free port, or stop what listens there\\n$`)],
    [{ DATA_DIR: tempDir(t), LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/]
  ]
  await Promise.all(cases.map(async ([env, expected]) => {
    const running = startServer({ ...minimal, ...env })
    const [code] = await once(running.child, 'exit')
    t.equal(code, 1, JSON.stringify(env))
    t.match(running.output(), expected)
  }))
})

/** A confidential gateway's whole configuration against the simulator. */
function envFor (sim: Simulator, dataDir: string): Record<string, string> {
  return {
    ...gatewaySettings(sim, 'confidential'),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info'
  }
}

t.test('npm start: compiles the server into dist/, runs it, and passes SIGTERM on to it', async (t) => {
  const sim = await startSimulator({ autoLogin: true })
  t.teardown(() => sim.close())
  const gateway = await startGatewayProcess(t, envFor(sim, tempDir(t)), { npmStart: true })
  if (process.platform === 'linux') {
    // npm's shell execs node, so the server is npm's child. glibc then gives freed memory back past 128 KiB
    // instead of a threshold that grows with the largest block freed.
    const [server] = childProcessesOf(gateway.child.pid!).filter((info) => info.commandLine.includes('dist/server.js'))
    t.ok(server?.environment.includes('MALLOC_TRIM_THRESHOLD_=131072'), 'the server runs with the C allocator set to give memory back')
  }
  const { connectionId, key, claim } = await connectPatient({ sim, gw: gateway })
  const { patientId } = claim.connection as { patientId: string }
  // A search exercises the compiled proxy end to end: key, vault, injected token, link rewrite.
  const search = await fetch(`${gateway.url}/fhir/${connectionId}/Observation?patient=${patientId}`, { headers: bearer(key) })
  const bundle = await search.json() as {
    resourceType: string,
    link: Array<{ url: string }>,
    entry: Array<{ fullUrl: string }>
  }
  t.equal(search.status, 200)
  t.equal(bundle.resourceType, 'Bundle')
  const links = [...bundle.link.map((link) => link.url), ...bundle.entry.map((entry) => entry.fullUrl)]
  t.ok(bundle.link.length > 0 && bundle.entry.length > 0, 'the Bundle has links and entries')
  const throughGateway = `${gateway.url}/fhir/${connectionId}`
  t.same(links.filter((url) => !(url?.startsWith(`${throughGateway}/`) || url?.startsWith(`${throughGateway}?`))), [], 'every link points back through the gateway')

  // npm forwards the signal to its child; the script execs node, so the server itself gets it.
  await gateway.stop('SIGTERM')
  t.match(gateway.output.join(''), /shutting down/)
  await t.rejects(fetch(`${gateway.url}/health`), 'the server is gone with npm')
})

t.test('SIGKILL after a refresh, restart: the connection works with no new login', async (t) => {
  const sim = await startSimulator({ autoLogin: true })
  t.teardown(() => sim.close())
  const port = await freePort()
  const env = envFor(sim, tempDir(t))
  const first = await startGatewayProcess(t, env, { port })
  const url = first.url

  const { connectionId, key } = await connectPatient({ sim, gw: first })
  t.equal((await fetch(`${url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })).status, 200)

  await first.stop('SIGKILL')
  const second = await startGatewayProcess(t, env, { port })
  const status = await fetch(`${url}/connections/${connectionId}`, { headers: bearer(key) })
  t.match(await status.json(), { status: 'active', refreshable: true })
  // Healow's refresh tokens are single use: this only works if the rotated one was committed before the kill.
  const again = await fetch(`${url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })
  t.equal(again.status, 200)
  t.same(sim.counters().token['refresh_token:invalid_grant'] ?? 0, 0)

  await second.stop('SIGTERM')
  t.equal(second.child.exitCode, 0, 'SIGTERM shuts down gracefully')
  t.match(second.output.join(''), /shutting down/)
})

/**
 * A connected patient whose next FHIR read the simulator holds for `holdMs`, that read started
 * (wrapped: awaiting it is the caller's choice).
 */
async function readInFlight (
  sim: Simulator,
  gateway: { url: string },
  holdMs: number
): Promise<{ read: Promise<Response> }> {
  const { connectionId, key, claim } = await connectPatient({ sim, gw: gateway })
  const { patientId } = claim.connection as { patientId: string }
  sim.setFaults({ latencyMs: holdMs })
  const before = Object.values(sim.counters().fhir).reduce((a, b) => a + b, 0)
  const read = fetch(`${gateway.url}/fhir/${connectionId}/Patient/${patientId}`, { headers: bearer(key) })
  read.catch(() => {}) // awaited by the test, or cut off with the process on purpose
  while (Object.values(sim.counters().fhir).reduce((a, b) => a + b, 0) === before) await sleep(20)
  return { read }
}

const logLines = (output: string[]): Array<{ msg?: string, err?: { message?: string }, signal?: string }> =>
  output.join('').split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))

t.test('SIGTERM waits for the request in flight; a second SIGTERM exits at once', async (t) => {
  const sim = await startSimulator({ autoLogin: true })
  t.teardown(() => sim.close())
  const gateway = await startGatewayProcess(t, envFor(sim, tempDir(t)))
  await readInFlight(sim, gateway, 20_000)

  gateway.child.kill('SIGTERM')
  await sleep(1000)
  t.equal(gateway.child.exitCode, null, 'still draining the held read after a second')
  const secondAt = Date.now()
  await gateway.stop('SIGTERM')
  t.ok(Date.now() - secondAt < 2000, 'the second SIGTERM ends it without waiting for the read')
  t.equal(gateway.child.exitCode, 1, 'and says it did not finish cleanly')
  const messages = logLines(gateway.output).map((line) => line.msg)
  t.ok(messages.includes('shutting down: finishing in-flight requests'), 'the first signal started the drain')
  t.ok(messages.includes('second signal while shutting down: exiting at once'), 'the second is logged')
  t.notOk(messages.includes('closed'), 'the close never finished')
})

for (const failure of ['exception', 'rejection']) {
  t.test(`an uncaught ${failure} is logged, the server closes (the read in flight completes), and the process exits 1`, async (t) => {
    const sim = await startSimulator({ autoLogin: true })
    t.teardown(() => sim.close())
    const gateway = await startGatewayProcess(t, { ...envFor(sim, tempDir(t)), CRASH_WITH: failure }, { preload: 'test/helpers/crash-on-signal.ts' })
    const { read } = await readInFlight(sim, gateway, 1500)

    const exited = once(gateway.child, 'exit')
    gateway.child.kill('SIGWINCH')
    const answer = await read
    t.equal(answer.status, 200, 'the read that was in flight still gets its answer')
    const [code] = await exited
    t.equal(code, 1, 'exits 1 on its own, with no signal')
    const lines = logLines(gateway.output)
    const crash = lines.findIndex((line) => line.msg === 'uncaught error: closing the server, then exiting')
    t.ok(crash >= 0, 'the failure is logged')
    t.equal(lines[crash]?.err?.message, `injected ${failure}`, 'with its error')
    t.ok(lines.findIndex((line) => line.msg === 'closed') > crash, 'then the close finishes')
  })
}
