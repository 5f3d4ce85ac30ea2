import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp, type BuildOptions } from '../../app.js'
import { loadConfig, type Config } from '../../lib/config.js'

type Test = { teardown: (fn: () => unknown) => void }

/** A free loopback port, so PUBLIC_URL (and the redirect URI) can be known before listening. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export function tempDir (t: Test, prefix = 'healow-sync-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Collects every log line the app writes. */
export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write (chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    done()
  }

  get text (): string { return this.lines.join('\n') }
}

// What a credential looks like in a line: our keys and handoffs, JWTs (Healow's tokens are) and
// webhook signing secrets.
const CREDENTIAL_SHAPES = /hs[kh]_[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}|whsec_[A-Za-z0-9+/]{20,}/

/**
 * Every gateway a test starts is checked when it closes: not one of its log lines may carry a
 * connection key, a handoff code, a JWT, the client secret or the vault key.
 */
export function assertNoCredentialInLogs (logs: Pick<LogCapture, 'lines'>, config: Pick<Config, 'HEALOW_CLIENT_SECRET' | 'VAULT_KEY'>): void {
  const secrets = [config.HEALOW_CLIENT_SECRET, config.VAULT_KEY].filter((s): s is string => Boolean(s))
  const leak = logs.lines.find((line) =>
    CREDENTIAL_SHAPES.test(line) || secrets.some((secret) => line.includes(secret)))
  if (leak) throw new Error(`a log line carries a credential: ${leak.slice(0, 300)}`)
}

export interface TestGateway {
  app: FastifyInstance
  url: string
  config: Config
  logs: LogCapture
  dataDir: string
}

/**
 * Builds the gateway for one test from a complete environment (defaults below, overridden by
 * `env`), listens on a loopback port and closes it in teardown.
 */
export async function startGateway (t: Test, env: Record<string, string | undefined> = {}, build: Omit<BuildOptions, 'logStream'> = {}): Promise<TestGateway> {
  const port = await freePort()
  const dataDir = env.DATA_DIR ?? tempDir(t)
  const config = loadConfig({
    HEALOW_CLIENT_ID: 'test-client',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    HEALOW_DIRECTORY_URL: path.join(dataDir, 'missing-directory.json'),
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    // Syncs only when a test asks: a scheduled one would add requests other tests count.
    SYNC_INTERVAL_HOURS: '0',
    ...env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1'
  })
  const logs = new LogCapture()
  const app = await buildApp(config, { ...build, logStream: logs })
  t.teardown(async () => {
    await app.close()
    assertNoCredentialInLogs(logs, config)
  })
  await app.listen({ port, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${port}`, config, logs, dataDir }
}

/**
 * Waits until the gateway's directory is loaded: its first download runs in an import process, which
 * under the test runner starts with TypeScript compiled on the fly and competes with other test files.
 */
export async function untilDirectoryReady (gateway: TestGateway, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!gateway.app.tenantDirectory.status().ready) {
    if (Date.now() > deadline) throw new Error(`directory not ready: ${gateway.app.tenantDirectory.status().detail}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
