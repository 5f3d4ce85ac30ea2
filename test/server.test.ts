import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { startSimulator } from '../simulator/index.js'
import { freePort, tempDir } from './helpers/app.js'
import { startGatewayProcess } from './helpers/gateway-process.js'
import { bearer } from './helpers/connect.js'
import { PatientBrowser, isHealowCallback } from '../simulator/browser.js'
import { handoffFromPage } from '../routes/pages.js'

const root = fileURLToPath(new URL('..', import.meta.url))

interface Running { child: ChildProcess, output: () => string }

/** `npm start` as an operator runs it, for a start that must fail (startGatewayProcess waits for /ready). */
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

t.test('SIGKILL after a refresh, restart: the connection works with no new login', async (t) => {
  const sim = await startSimulator({ autoLogin: true })
  t.teardown(() => sim.close())
  const port = await freePort()
  const env = {
    HEALOW_CLIENT_ID: sim.clients.confidential.clientId,
    HEALOW_CLIENT_SECRET: sim.clients.confidential.clientSecret,
    DATA_DIR: tempDir(t),
    HEALOW_AUTHORIZE_URL: sim.authorizeUrl,
    HEALOW_TOKEN_URL: sim.tokenUrl,
    HEALOW_DIRECTORY_URL: sim.directoryUrl,
    ALLOW_LOOPBACK_HTTP: 'true',
    LOG_LEVEL: 'info'
  }
  const first = await startGatewayProcess(t, env, { port })
  const url = first.url

  const browser = new PatientBrowser()
  const walk = await browser.followUntil(`${url}/healow/connect?tenant=${sim.practices[0].id}`, isHealowCallback, { requestFinal: true })
  const handoff = handoffFromPage(await walk.response!.text())!
  const { connection, key } = await (await fetch(`${url}/connections/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff }) })).json() as { connection: { id: string }, key: string }
  t.equal((await fetch(`${url}/connections/${connection.id}/refresh`, { method: 'POST', headers: bearer(key) })).status, 200)

  await first.stop('SIGKILL')
  const second = await startGatewayProcess(t, env, { port })
  const status = await fetch(`${url}/connections/${connection.id}`, { headers: bearer(key) })
  t.match(await status.json(), { status: 'active', refreshable: true })
  // Healow's refresh tokens are single use: this only works if the rotated one was committed before the kill.
  const again = await fetch(`${url}/connections/${connection.id}/refresh`, { method: 'POST', headers: bearer(key) })
  t.equal(again.status, 200)
  t.same(sim.counters().token['refresh_token:invalid_grant'] ?? 0, 0)

  await second.stop('SIGTERM')
  t.equal(second.child.exitCode, 0, 'SIGTERM shuts down gracefully')
  t.match(second.output.join(''), /shutting down/)
})
