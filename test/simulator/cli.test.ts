import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { fetch } from 'undici'
import { describeForGateway, parseCliOptions } from '../../simulator/cli-options.js'
import { startForTest } from './start.js'
import { tempDir } from '../helpers/app.js'
import { bearer, connectPatient } from '../helpers/connect.js'
import { startGatewayProcess } from '../helpers/gateway-process.js'
import type { Simulator } from '../../simulator/index.js'

const CLI = fileURLToPath(new URL('../../simulator/cli.ts', import.meta.url))

type Test = Parameters<typeof tempDir>[0]

/** `npm run simulator` with these arguments: what it printed once it was up, and the KEY=VALUE lines of it. */
async function startCli (t: Test, args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stdout = ''
  const stderr = { text: '' }
  child.stderr.on('data', (chunk) => { stderr.text += chunk })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      if (/# WELLMED .*\n/.test(stdout)) resolve()
    })
    child.once('exit', () => reject(new Error(`the CLI exited: ${stderr.text}`)))
  })
  const env: Record<string, string> = Object.fromEntries(stdout.split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split(/=(.*)/s, 2)))
  return { child, stdout, stderr, env }
}

t.test('the CLI prints what the gateway needs, serves it, and stops on SIGTERM', async (t) => {
  const { child, stdout, stderr, env } = await startCli(t, ['--port', '0', '--auto-login', '--seed', '3'])
  t.same(Object.keys(env), ['HEALOW_AUTHORIZE_URL', 'HEALOW_TOKEN_URL', 'HEALOW_DIRECTORY_URL', 'HEALOW_CLIENT_ID', 'HEALOW_CLIENT_SECRET', 'FHIR_ALIAS_HOSTS', 'ALLOW_LOOPBACK_HTTP'])
  t.match(env.HEALOW_AUTHORIZE_URL, /^http:\/\/127\.0\.0\.1:\d+\/oauth\/oauth2\/authorize$/)
  t.equal(env.HEALOW_CLIENT_ID, 'healow-sync-confidential', 'the confidential client by default')
  t.match(stdout, /# JAFJCD "FHIR R4 Prodtest EMR" http:\/\/.*\/fhir\/r4\/JAFJCD patient=\w+ login=demo\.jafjcd/)

  const directory = await (await fetch(env.HEALOW_DIRECTORY_URL)).json() as { entry: unknown[] }
  t.equal(directory.entry.length, 10)
  const origin = new URL(env.HEALOW_TOKEN_URL).origin
  await fetch(`${origin}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tokenDown: true }) })
  t.equal((await fetch(env.HEALOW_TOKEN_URL, { method: 'POST' })).status, 503, 'faults switched over HTTP')

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'a clean exit')
  t.equal(stderr.text, '', 'nothing on stderr (no oidc-provider runtime warning)')
})

t.test('a gateway started with exactly the printed lines pages through every entry of a multi-page search', async (t) => {
  const { stdout, env } = await startCli(t, ['--port', '0', '--auto-login', '--page-size', '7'])
  const gateway = await startGatewayProcess(t, env)
  const [, practiceId, patientId] = /^# (\w+) ".*" \S+ patient=(\S+) /m.exec(stdout)!
  // The login walk needs only the practice's id from the simulator.
  const { connectionId, key } = await connectPatient({
    sim: { practices: [{ id: practiceId }] } as Simulator,
    gw: gateway
  })
  const ids: string[] = []
  let total = -1
  let pages = 0
  let next: string | undefined = `${gateway.url}/fhir/${connectionId}/Observation?patient=${patientId}`
  while (next !== undefined && pages < 50) {
    const res = await fetch(next, { headers: bearer(key) })
    t.equal(res.status, 200, `page ${++pages}`)
    const bundle = await res.json() as {
      total: number,
      entry?: Array<{ resource: { resourceType: string, id: string }, search?: { mode: string } }>,
      link?: Array<{ relation: string, url: string }>
    }
    total = bundle.total
    t.notOk(bundle.entry?.some((e) => e.search?.mode === 'outcome'), 'no link withheld')
    ids.push(...(bundle.entry ?? []).map((e) => e.resource.id))
    next = bundle.link?.find((l) => l.relation === 'next')?.url
  }
  t.ok(total > 7, `${total} Observations`)
  t.equal(pages, Math.ceil(total / 7), `${pages} pages`)
  t.equal(new Set(ids).size, total, 'every entry, once')
})

t.test('options', async (t) => {
  const { options, client } = parseCliOptions([
    '--port', '4100', '--client', 'public', '--redirect-uri', 'http://127.0.0.1:3000/healow/callback',
    '--redirect-uri', 'http://localhost:3000/healow/callback', '--rate-limit', 'off', '--quirk-off', 'aliasHostLinks'
  ])
  t.equal(client, 'public')
  t.match(options, {
    port: 4100,
    autoLogin: false,
    redirectUris: ['http://127.0.0.1:3000/healow/callback', 'http://localhost:3000/healow/callback'],
    quirks: { rateLimitPerMinute: null, aliasHostLinks: false }
  })
  t.throws(() => parseCliOptions(['--client', 'nobody']), /public or confidential/)
  t.throws(() => parseCliOptions(['--port', 'x']), /whole number/)
  t.throws(() => parseCliOptions(['--quirk-off', 'nothing']), /unknown quirk/)
})

t.test('the public client has no secret to print', async (t) => {
  const sim = await startForTest(t)
  const lines = describeForGateway(sim, 'public')
  t.match(lines, `HEALOW_CLIENT_ID=${sim.clients.public.clientId}`)
  t.notMatch(lines, /HEALOW_CLIENT_SECRET/)
})
