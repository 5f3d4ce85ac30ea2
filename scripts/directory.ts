// The practice directory by hand: `npm run directory -- import <file|url>` loads a directory into the
// configured database (as the gateway would, with a summary of what changed); `search <words>` tries a query.
import { existsSync } from 'node:fs'
import { ConfigError, loadConfig } from '../plugins/config.js'
import { openStore } from '../lib/store/open.js'
import type { Store } from '../lib/store/types.js'
import { importDirectory } from '../lib/directory/directory.js'
import type { Practice } from '../lib/directory/practice.js'
import { PracticeSearchIndex } from '../lib/directory/search-index.js'

const USAGE = `usage: npm run directory -- import <file|url>
       npm run directory -- search <words…>`

/** Progress on stderr: one updating line on a terminal, plain lines otherwise (logs, CI). */
class Progress {
  private readonly live = process.stderr.isTTY === true
  private lastPlainStep = -1

  step (message: string): void {
    if (this.live) process.stderr.write(`\r\x1b[K${message}`)
    else process.stderr.write(`${message}\n`)
  }

  bytes (received: number, total: number | undefined): void {
    const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
    const message = `downloading: ${mb(received)} MB${total === undefined ? '' : ` of ${mb(total)} MB`}`
    if (this.live) return this.step(message)
    // Without a terminal, one line per 5 MB is enough to see that it moves.
    const plainStep = Math.floor(received / (5 * 1024 * 1024))
    if (plainStep !== this.lastPlainStep) { this.lastPlainStep = plainStep; this.step(message) }
  }

  done (): void {
    if (this.live) process.stderr.write('\r\x1b[K')
  }
}

function storedPractices (practices: unknown[] | undefined): Practice[] {
  return (practices ?? []) as Practice[]
}

async function importCommand (store: Store, source: string, oauth: { authorizeUrl: string, tokenUrl: string }): Promise<void> {
  const progress = new Progress()
  const previous = await store.directory.loadSnapshot()
  progress.step(`reading ${source}`)
  const started = performance.now()
  const result = await importDirectory(source, storedPractices(previous?.practices), {
    oauth, onProgress: (received, total) => progress.bytes(received, total),
  })
  progress.step(`saving ${result.practices.length} practices`)
  await store.directory.saveSnapshot({ fetchedAt: new Date().toISOString(), source, practices: result.practices })
  progress.done()

  const skipped = Object.entries(result.skipped)
  const lines = [
    `Imported ${result.practices.length} practices from ${source} (${result.entryCount} entries, ${Math.round(performance.now() - started)} ms)`,
    `  added    ${result.added}`,
    `  changed  ${result.changed}`,
    `  removed  ${result.removed}`,
    `  skipped  ${skipped.reduce((sum, [, count]) => sum + (count ?? 0), 0)} entries`,
    ...skipped.map(([reason, count]) => `    ${reason}: ${count}`),
    'A running gateway uses this copy after its next restart; it keeps fetching HEALOW_DIRECTORY_URL on its schedule.',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

async function searchCommand (store: Store, words: string): Promise<void> {
  const snapshot = await store.directory.loadSnapshot()
  if (snapshot === null) throw new Error('no directory in the database yet: run `npm run directory -- import <file|url>` first')
  const { practices, total } = new PracticeSearchIndex(storedPractices(snapshot.practices)).search(words, 20)
  for (const practice of practices) process.stdout.write(`${practice.id.padEnd(8)} ${practice.name}  ${practice.fhirBase}\n`)
  process.stdout.write(`${total} match${total === 1 ? '' : 'es'} in ${snapshot.practices.length} practices (fetched ${snapshot.fetchedAt})\n`)
}

const [command, ...args] = process.argv.slice(2)
if ((command !== 'import' && command !== 'search') || args.length === 0 || (command === 'import' && args.length !== 1)) {
  process.stderr.write(`${USAGE}\n`)
  process.exit(2)
}

// Same configuration as the server: .env if present, real environment variables over it.
if (existsSync('.env')) process.loadEnvFile('.env')
let store: Store | undefined
try {
  const config = loadConfig(process.env)
  store = await openStore(config.databaseUrl)
  if (command === 'import') await importCommand(store, args[0], { authorizeUrl: config.HEALOW_AUTHORIZE_URL, tokenUrl: config.HEALOW_TOKEN_URL })
  else await searchCommand(store, args.join(' '))
} catch (err) {
  process.stderr.write(`\ndirectory ${command} failed: ${(err as Error).message}\n`)
  if (err instanceof ConfigError) process.stderr.write('See README.md, "Configuration".\n')
  process.exitCode = 1
} finally {
  await store?.close()
}
