// The gateway as deployed, for the benchmarks: `node dist/server.js` (compiled by `npm run build`),
// configured by its environment, with one connection whose practice base is a stand-in upstream.
// The connection is made through the source into the SQLite vault that the server then opens.
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'

const DIST_SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url))
export const ACCESS_TOKEN = 'bench-access-token'
export const PRACTICE = 'BENCH'

/**
 * Variables added to the server's environment from GATEWAY_ENV ('NAME=value NAME=value'), to measure an
 * operator's setting: GATEWAY_ENV=MALLOC_TRIM_THRESHOLD_=131072 npx tsx bench/memory.ts
 */
function settingsToMeasure (): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const pair of (process.env.GATEWAY_ENV ?? '').split(' ').filter(Boolean)) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new Error(`GATEWAY_ENV takes NAME=value pairs, got "${pair}"`)
    settings[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return settings
}

export interface DeployedGateway {
  child: ChildProcess
  url: string
  connectionId: string
  key: string
}

export interface DeployedGatewayOptions {
  upstreamUrl: string
  /** The upstream's second origin, where its Bundle links point (FHIR_ALIAS_HOSTS). */
  alias: string
  /** Settings besides those a benchmark needs; HEALOW_DIRECTORY_URL defaults to a missing file. */
  env?: Record<string, string>
  /** Node options of the server process; none, as `node dist/server.js` runs. */
  execArgv?: string[]
  /** The path whose 200 means the gateway is up: /health, or /ready to wait for the directory too. */
  readyPath?: '/health' | '/ready'
  readyTimeoutMs?: number
}

export async function startDeployedGateway ({
  upstreamUrl, alias, env: extra = {}, execArgv = [], readyPath = '/health', readyTimeoutMs = 10_000
}: DeployedGatewayOptions): Promise<DeployedGateway> {
  const { buildApp } = await import('../app.js')
  const { loadConfig } = await import('../lib/config.js')
  const { freePort } = await import('../test/helpers/app.js')
  const dataDir = mkdtempSync(path.join(tmpdir(), 'healow-sync-bench-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const env = {
    HEALOW_CLIENT_ID: 'bench',
    HEALOW_CLIENT_SECRET: 'bench-secret',
    PUBLIC_URL: url,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    HEALOW_DIRECTORY_URL: path.join(dataDir, 'none.json'),
    HEALOW_TOKEN_URL: `${upstreamUrl}/token`,
    FHIR_ALIAS_HOSTS: alias,
    HEALOW_RATE_LIMIT_PER_MINUTE: '1000000000',
    // No scheduled sync: a new connection is synced at once, and a stand-in that answers every search
    // with the same page would have it follow that page's next link for as long as the benchmark runs.
    SYNC_INTERVAL_HOURS: '0',
    ...extra
  }
  // Seeded without the directory: the benchmark's own process never imports it.
  const app = await buildApp(loadConfig({ ...env, HEALOW_DIRECTORY_URL: path.join(dataDir, 'none.json') }), { logStream: process.stderr })
  const connectionId = await app.vault.create({
    practiceId: PRACTICE,
    fhirBase: `${upstreamUrl}/fhir/r4/${PRACTICE}`,
    patientId: 'p1',
    scope: 'patient/*.read',
    tokens: { accessToken: ACCESS_TOKEN, refreshToken: 'bench-refresh' },
    accessExpiresAt: Date.now() + 24 * 3600_000
  })
  const claimed = await app.connections.claim(await app.connections.createHandoff(connectionId))
  await app.close()

  // cwd: the data directory, so that no .env of the checkout's is read.
  // Its log lines go to stderr: stdout is the benchmark's Markdown.
  const child = fork(DIST_SERVER, [], { cwd: dataDir, env: { PATH: process.env.PATH, ...env, ...settingsToMeasure() }, execArgv, stdio: ['ignore', process.stderr, 'inherit', 'ipc'] })
  const deadline = Date.now() + readyTimeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}`)
    if (await request(`${url}${readyPath}`).then((res) => res.body.text().then(() => res.statusCode === 200), () => false)) {
      return { child, url, connectionId, key: claimed!.key }
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill()
  throw new Error(`the gateway did not answer ${readyPath} in ${readyTimeoutMs / 1000} s`)
}
