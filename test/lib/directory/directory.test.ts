import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { TenantDirectory } from '../../../lib/directory/directory.js'
import { openStore } from '../../../lib/store/open.js'
import { bundleOf, HEALOW_2026_PRACTICES, healowSizedBundle } from '../../helpers/synthetic-bundle.js'
import { startGateway, tempDir } from '../../helpers/app.js'

type Test = Parameters<typeof tempDir>[0]

const OAUTH = { authorizeUrl: 'https://oauth.example/authorize', tokenUrl: 'https://oauth.example/token' }

/** A loopback server answering with whatever text `body()` gives at the time of the request. */
async function serveText (t: Test, body: () => string): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/fhir+json' }).end(body())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/directory.json`
}

const GOOD = JSON.stringify(bundleOf([
  { id: 'AAAAAA', name: 'Ocean Allergy', address: 'https://fhir4.healow.com/fhir/r4/AAAAAA' },
  { id: 'BBBBBB', name: 'Mountain Ridge Healthcare', address: 'https://fhir4.healow.com/fhir/r4/BBBBBB' }
]))
// A different directory in all but being broken, so that taking any part of it would show.
const OTHER = bundleOf([{ id: 'CCCCCC', name: 'Valley Pediatrics', address: 'https://fhir4.healow.com/fhir/r4/CCCCCC' }])
const OTHER_TEXT = JSON.stringify(OTHER)

t.test('a broken or oversized document fails with a clear message and leaves the directory in use untouched', async (t) => {
  let body = GOOD
  const source = await serveText(t, () => body)
  const store = await openStore(`sqlite:${path.join(tempDir(t), 'healow-sync.db')}`)
  t.teardown(() => store.close())
  const warnings: object[] = []
  const directory = new TenantDirectory({
    source,
    oauth: OAUTH,
    store: store.directory,
    log: { info: () => {}, warn: (details) => warnings.push(details) },
    refreshIntervalMs: 3_600_000,
    maxBytes: 4096
  })
  t.teardown(() => directory.close())
  await directory.start()
  await directory.refresh()
  const inUse = directory.status()
  const saved = await store.directory.loadSnapshot()

  const broken: Array<[string, string, RegExp]> = [
    ['truncated', OTHER_TEXT.slice(0, -40), /the directory is not valid JSON: it ends early$/],
    ['invalid JSON after good entries', OTHER_TEXT.replace('"total"', 'total'), /the directory is not valid JSON$/],
    ['not a Bundle', JSON.stringify({ ...OTHER, resourceType: 'OperationOutcome' }), /the directory is not a FHIR Bundle$/],
    ['not a Bundle, said after the entries', JSON.stringify({ entry: OTHER.entry, resourceType: 'Patient' }),
      /the directory is not a FHIR Bundle$/],
    ['entry not an array', JSON.stringify({ resourceType: 'Bundle', entry: OTHER.entry[0] }), /the directory Bundle has no entry array$/],
    ['over the size limit', JSON.stringify({ ...OTHER, padding: 'x'.repeat(5000) }), / more than the 4096 bytes accepted$/],
    ['no usable practice', JSON.stringify(bundleOf([{ id: 'DDDDDD', name: 'No Address' }])), /the directory has no usable practice$/]
  ]
  for (const [what, text, message] of broken) {
    body = text
    await t.rejects(directory.refresh(), { message }, what)
    t.match(directory.status(), { ...inUse, lastError: message }, `${what}: the same directory in use, and the reason`)
    t.equal(directory.get('CCCCCC'), undefined, `${what}: nothing of the broken document taken`)
    t.equal(directory.get('aaaaaa')?.name, 'Ocean Allergy')
    t.same(await store.directory.loadSnapshot(), saved, `${what}: the stored copy untouched`)
  }
  t.equal(warnings.length, broken.length, 'each failure logged once')
  body = OTHER_TEXT
  t.match(await directory.refresh(), { added: 1, removed: 2 }, 'a good document afterwards is taken')
  t.equal(directory.status().lastError, null)
})

t.test('a refresh of 17,291 practices in the background keeps /health answering', async (t) => {
  const text = JSON.stringify(healowSizedBundle())
  const source = await serveText(t, () => text)
  const gateway = await startGateway(t, { HEALOW_DIRECTORY_URL: source })
  await gateway.app.tenantDirectory.refresh() // the first load; the one measured below replaces it

  const gaps: number[] = []
  const refreshing = { now: true }
  const started = performance.now()
  const refresh = gateway.app.tenantDirectory.refresh().finally(() => { refreshing.now = false })
  while (refreshing.now) {
    const started = performance.now()
    const response = await fetch(`${gateway.url}/health`)
    t.equal(response.status, 200)
    await response.arrayBuffer()
    gaps.push(performance.now() - started)
  }
  const result = await refresh
  const duration = performance.now() - started
  t.equal(result.practices.length, HEALOW_2026_PRACTICES)
  t.match(result, { added: 0, changed: 0, removed: 0 })
  const longest = Math.max(...gaps)
  // Parsing the whole document at once and building the index in one go held the event loop for most of the
  // refresh (over half a second here); in slices, an answer waits for a slice or two. Relative to the whole
  // refresh, so that a busy machine, which slows both, does not decide the outcome.
  t.ok(gaps.length >= 20, `${gaps.length} answers during the refresh`)
  t.ok(longest < duration / 3, `the longest wait for /health was ${longest.toFixed(0)} ms of a ${duration.toFixed(0)} ms refresh`)
  // The stored copy is written in slices too: every practice, each with only what a restart needs.
  const stored = await gateway.app.store.directory.loadSnapshot()
  const practices = stored?.practices as Array<Record<string, string>>
  t.equal(practices.length, HEALOW_2026_PRACTICES, 'the stored copy holds every practice')
  t.same(practices.map((p) => p.id), result.practices.map((p) => p.id), 'in order')
  t.same(Object.keys(practices[HEALOW_2026_PRACTICES - 1]).sort(), ['fhirBase', 'id', 'name'])
})
