import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort, tempDir } from './helpers/app.js'

const HELPER = fileURLToPath(new URL('./helpers/loaded-packages.ts', import.meta.url))

interface Step { step: string, status?: number, packages: string[] }

/** Starts the gateway in a child with `env` and reports the packages loaded after start-up and after each URL. */
async function packagesLoaded (t: Test, env: Record<string, string>, urls: string[] = []): Promise<Step[]> {
  const dataDir = tempDir(t)
  const port = String(await freePort())
  const config = {
    HEALOW_CLIENT_ID: 'test-client',
    HEALOW_CLIENT_SECRET: 'test-secret',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    PORT: port,
    DATA_DIR: dataDir,
    HEALOW_DIRECTORY_URL: path.join(dataDir, 'missing-directory.json'),
    LOG_LEVEL: 'silent',
    LOG_FORMAT: 'json',
    ...env
  }
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', HELPER, JSON.stringify(config), ...urls])
  return stdout.trim().split('\n').map((line) => JSON.parse(line) as Step)
}

// What a self-hoster's gateway never needs in its default mode (SQLite, no metrics, JSON logs): the
// PostgreSQL client, Prometheus, Swagger UI and its static file server until /docs is asked for, the
// OAuth library until a patient signs in (test/plugins/oauth.test.ts), the pretty printer, and the
// simulator (koa is oidc-provider's web framework).
const NOT_IN_DEFAULT_MODE = ['pg', 'prom-client', '@fastify/swagger-ui', '@fastify/static', '@fastify/oauth2', 'simple-oauth2', 'joi', 'pino-pretty', 'koa', 'oidc-provider']

t.test('on SQLite without METRICS_PORT, the gateway loads neither pg, prom-client, Swagger UI, the OAuth library nor the simulator', async (t) => {
  const [started, docs, asset] = await packagesLoaded(t, {}, ['/docs', '/docs/static/swagger-ui-bundle.js'])
  t.ok(started.packages.includes('fastify') && started.packages.includes('libsql'), 'the listing sees what is loaded (fastify, libsql)')
  t.same(NOT_IN_DEFAULT_MODE.filter((name) => started.packages.includes(name)), [], 'none of them after start-up')
  t.equal(docs.status, 200, '/docs answers')
  t.ok(docs.packages.includes('@fastify/swagger-ui'), 'Swagger UI is loaded by the first request for /docs')
  t.equal(asset.status, 200, 'its static files are served')
  t.same(['pg', 'prom-client', 'koa'].filter((name) => asset.packages.includes(name)), [], 'and /docs loads nothing else of the list')
})

t.test('METRICS_PORT loads prom-client, and only then', async (t) => {
  const [started] = await packagesLoaded(t, { METRICS_PORT: String(await freePort()) })
  t.ok(started.packages.includes('prom-client'))
  t.notOk(started.packages.includes('pg'))
})
