import { STORE_SETTINGS, databaseUrlOf, loadSettings } from '../lib/config.js'
import { openStore } from '../lib/store/open.js'
import { importDirectory } from '../lib/directory/directory.js'
import { storedPracticesJson } from '../lib/directory/stored-copy.js'
import { runSlices } from '../lib/directory/slices.js'
import type { Practice } from '../lib/directory/practice.js'
import { PracticeSearchIndex } from '../lib/directory/search-index.js'
import { UsageError, type Command } from './command.js'
import { Progress, formatBytes } from './progress.js'

function practicesOf (practices: unknown[] | undefined): Practice[] {
  return (practices ?? []) as Practice[]
}

export const directoryImport: Command = {
  name: 'directory import',
  args: '[<file|url>]',
  summary: [
    'Loads the practice directory (a FHIR Bundle of Endpoint + Organization; HEALOW_DIRECTORY_URL',
    'when no file or URL is given) into the database, as the gateway would, and summarises what changed.'
  ].join('\n'),
  settings: [...STORE_SETTINGS, 'HEALOW_DIRECTORY_URL', 'HEALOW_AUTHORIZE_URL', 'HEALOW_TOKEN_URL', 'ALLOW_LOOPBACK_HTTP'],
  async run (args, env, { out, err }) {
    if (args.length > 1) throw new UsageError(`directory import takes one file or URL, got ${args.length}`)
    const settings = loadSettings(env, this.settings)
    const source = args[0] ?? settings.HEALOW_DIRECTORY_URL
    const store = await openStore(databaseUrlOf(settings))
    try {
      const progress = new Progress(err)
      const previous = await store.directory.loadSnapshot()
      progress.step(`reading ${source}`)
      const started = performance.now()
      let downloaded = 0
      const result = await importDirectory(source, practicesOf(previous?.practices), {
        oauth: { authorizeUrl: settings.HEALOW_AUTHORIZE_URL, tokenUrl: settings.HEALOW_TOKEN_URL },
        addressPolicy: { allowLoopbackHttp: settings.ALLOW_LOOPBACK_HTTP },
        onProgress: (received, total) => { downloaded = received; progress.bytes(received, total) }
      })
      progress.step(`${downloaded > 0 ? `downloaded ${formatBytes(downloaded)}; ` : ''}saving ${result.practices.length} practices`)
      const fetchedAt = new Date().toISOString()
      const practicesJson = runSlices(storedPracticesJson(result.practices))
      await store.directory.saveSnapshot({ fetchedAt, source, practicesJson })
      progress.done('saved')

      const skipped = Object.entries(result.skipped)
      out.write([
        `Imported ${result.practices.length} practices from ${source} (${result.entryCount} entries, ${Math.round(performance.now() - started)} ms)`,
        `  added    ${result.added}`,
        `  changed  ${result.changed}`,
        `  removed  ${result.removed}`,
        `  skipped  ${skipped.reduce((sum, [, count]) => sum + (count ?? 0), 0)} entries`,
        ...skipped.map(([reason, count]) => `    ${reason}: ${count}`),
        'A running gateway uses this copy after its next restart; it keeps fetching HEALOW_DIRECTORY_URL on its schedule.'
      ].join('\n') + '\n')
    } finally {
      await store.close()
    }
  }
}

export const directorySearch: Command = {
  name: 'directory search',
  args: '<words…>',
  summary: 'Searches the practice directory stored in the database, as GET /tenants?q= would, and prints the 20 best matches.',
  settings: STORE_SETTINGS,
  async run (args, env, { out }) {
    if (args.length === 0) throw new UsageError('directory search needs the words to search for')
    const store = await openStore(databaseUrlOf(loadSettings(env, this.settings)))
    try {
      const snapshot = await store.directory.loadSnapshot()
      if (snapshot === null) throw new Error('no directory in the database yet: run `healow-sync directory import` first')
      const { practices, total } = PracticeSearchIndex.of(practicesOf(snapshot.practices)).search(args.join(' '), 20)
      for (const practice of practices) out.write(`${practice.id.padEnd(8)} ${practice.name}  ${practice.fhirBase}\n`)
      out.write(`${total} match${total === 1 ? '' : 'es'} in ${snapshot.practices.length} practices (fetched ${snapshot.fetchedAt})\n`)
    } finally {
      await store.close()
    }
  }
}
