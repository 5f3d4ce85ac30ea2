import t from 'tap'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getPriority } from 'node:os'
import path from 'node:path'
import { collectDirectory } from '../../../lib/directory/collect.js'
import { TenantDirectory } from '../../../lib/directory/directory.js'
import { collectInChildProcess, importProcessOptions } from '../../../lib/directory/import-process.js'
import { PracticeSearchIndex } from '../../../lib/directory/search-index.js'
import { runSlices } from '../../../lib/directory/slices.js'
import { storedPracticesJson } from '../../../lib/directory/stored-copy.js'
import { openStore } from '../../../lib/store/open.js'
import { helperProcessEnvironment } from '../../../lib/config.js'
import { bundleOf, healowSizedBundle } from '../../helpers/synthetic-bundle.js'
import { freePort, tempDir } from '../../helpers/app.js'
import { childProcessesOf, type ProcessInfo } from '../../helpers/processes.js'

type Test = Parameters<typeof tempDir>[0]

const OAUTH = {
  authorizeUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/authorize',
  tokenUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/token'
}

/** The import processes this test process has started and that are still running. */
function importProcesses (): ProcessInfo[] {
  return childProcessesOf(process.pid).filter((child) => child.commandLine.includes('import-process-child'))
}

async function untilImportProcess (): Promise<ProcessInfo> {
  for (let tries = 0; tries < 400; tries++) {
    const [found] = importProcesses()
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error('no import process started')
}

async function untilNoImportProcess (): Promise<void> {
  for (let tries = 0; tries < 200 && importProcesses().length > 0; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** A loopback server that sends the start of a document and then holds the rest back until the test ends. */
async function serveHeldDocument (t: Test): Promise<{ url: string, requested: Promise<void> }> {
  let markRequested!: () => void
  const requested = new Promise<void>((resolve) => { markRequested = resolve })
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/fhir+json' }).write('{"resourceType":"Bundle","entry":[')
    markRequested()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/directory.json`, requested }
}

t.test('the import process gives what an import in this process gives, with the search index built', async (t) => {
  const file = path.join(tempDir(t), 'directory.json')
  writeFileSync(file, JSON.stringify(healowSizedBundle()))
  const here = await collectDirectory(file, { oauth: OAUTH })
  const { index, storedCopyJson, ...there } = await collectInChildProcess(file, { oauth: OAUTH })
  t.same(there, here, 'the same practices, in the same order, with the same OAuth URLs, skips and entry count')
  t.equal(storedCopyJson, runSlices(storedPracticesJson(here.practices)), 'the same copy for the store, written there')
  if (index === undefined) throw new Error('no index came back')
  const built = PracticeSearchIndex.of(here.practices)
  t.equal(index.size, built.size)
  t.same(index.practices, built.practices, 'the same name order')
  for (const query of ['', 'p', 'family medicine', 'pediatrcs', 'ocean allergy', here.practices[1234].id.toLowerCase(), 'zzzzzz']) {
    t.same(index.search(query, 20, 5), built.search(query, 20, 5), `the same answer to "${query}"`)
  }
  t.same(index.get(here.practices[77].id.toUpperCase()), here.practices[77], 'ids are found case-insensitively')
  t.same(importProcesses(), [], 'the process is gone once its answer is in')
})

t.test('a document that is not a directory fails with the reason the import process found', async (t) => {
  const dir = tempDir(t)
  const notABundle = path.join(dir, 'not-a-bundle.json')
  writeFileSync(notABundle, JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }))
  await t.rejects(collectInChildProcess(notABundle, { oauth: OAUTH }), { message: 'the directory is not a FHIR Bundle' })
  const tooLarge = path.join(dir, 'large.json')
  writeFileSync(tooLarge, JSON.stringify(bundleOf([{ id: 'AAAAAA', name: 'x'.repeat(5000), address: 'https://fhir4.healow.com/fhir/r4/AAAAAA' }])))
  await t.rejects(collectInChildProcess(tooLarge, { oauth: OAUTH, maxBytes: 1024 }), { message: /more than the 1024 bytes accepted$/ })
  // Told without a process started for it: `access` is this process's check, where the import process would say `open`.
  await t.rejects(collectInChildProcess(path.join(dir, 'missing.json'), { oauth: OAUTH }),
    { message: `ENOENT: no such file or directory, access '${path.join(dir, 'missing.json')}'` })
  const closedPort = await freePort()
  await t.rejects(collectInChildProcess(`http://127.0.0.1:${closedPort}/directory.json`, { oauth: OAUTH }),
    { message: `cannot reach http://127.0.0.1:${closedPort}/directory.json: ECONNREFUSED` })
  // Loopback http is refused unless the policy allows it, in the other process too.
  const local = await serveHeldDocument(t)
  const plain = path.join(dir, 'plain-http.json')
  writeFileSync(plain, JSON.stringify(bundleOf([{ id: 'AAAAAA', name: 'Local', address: `${local.url.replace('/directory.json', '')}/fhir/r4/AAAAAA` }])))
  t.match(await collectInChildProcess(plain, { oauth: OAUTH }), { practices: [], skipped: { 'not https': 1 } })
  t.match(await collectInChildProcess(plain, { oauth: OAUTH, addressPolicy: { allowLoopbackHttp: true } }), { practices: [{ id: 'AAAAAA' }] })
  await untilNoImportProcess()
  t.same(importProcesses(), [], 'no process left behind')
})

t.test('the import process sees none of the gateway\'s secrets, runs below its priority, and ends when aborted', async (t) => {
  const secrets = { HEALOW_CLIENT_SECRET: 'client-secret-that-must-stay', VAULT_KEY: 'vault-key-that-must-stay' }
  Object.assign(process.env, secrets)
  t.teardown(() => { for (const name of Object.keys(secrets)) delete process.env[name] })
  const held = await serveHeldDocument(t)
  const aborter = new AbortController()
  const importing = collectInChildProcess(held.url, { oauth: OAUTH, signal: aborter.signal, lowPriority: true })
  await held.requested
  const child = await untilImportProcess()
  const names = child.environment.map((line) => line.slice(0, line.indexOf('=')))
  t.notOk(names.includes('HEALOW_CLIENT_SECRET') || names.includes('VAULT_KEY'), 'no secret in its environment')
  t.notOk(child.environment.some((line) => line.includes('must-stay')), 'not under any name')
  // _TAPJS_: what the test runner adds to every process it sees started.
  const allowed = /^(NODE_|SSL_CERT_|PATH$|TZ$|(HTTPS?|NO)_PROXY$|_TAPJS_)/i
  t.ok(names.every((name) => allowed.test(name)), `only how Node runs and reaches the network: ${names.join(', ')}`)
  t.equal(child.nice, 19, 'the lowest priority when asked (a refresh while a copy is in use): the gateway\'s thread goes first')

  aborter.abort()
  await t.rejects(importing, { name: 'AbortError' })
  await untilNoImportProcess()
  t.same(importProcesses(), [], 'the process is stopped')
  await t.rejects(collectInChildProcess(held.url, { oauth: OAUTH, signal: aborter.signal }), { name: 'AbortError' }, 'an aborted signal starts nothing')
  t.same(importProcesses(), [])
})

t.test('the import process gets none of the gateway\'s Node options; run from source, only the TypeScript loader', async (t) => {
  const own = ['--import=tsx', '--import=file:///srv/apm-preload.mjs', '--inspect=0.0.0.0:9229', '--max-semi-space-size=16']
  t.same(importProcessOptions(own, '.js'), [], 'compiled: none at all')
  t.same(importProcessOptions(own, '.ts'), ['--import=tsx'])
  t.same(importProcessOptions(['-r', 'dd-trace/init', '--import', 'tsx', '--loader', 'tsx-lookalike-elsewhere'], '.ts'), ['--import', 'tsx'])
  t.same(importProcessOptions(['--require=tsxapm', '--import=tsx/esm'], '.ts'), ['--import=tsx/esm'], 'a look-alike name is not the loader')
  // Checked here rather than in a started process: the test runner puts its own NODE_OPTIONS into every
  // process it sees started.
  const environment = helperProcessEnvironment({
    NODE_OPTIONS: '--require=dd-trace/init',
    NODE_EXTRA_CA_CERTS: '/etc/ssl/corporate.pem',
    HTTPS_PROXY: 'http://proxy:3128',
    HEALOW_CLIENT_SECRET: 'secret',
    VAULT_KEY: 'key',
    DATABASE_URL: 'postgres://u:p@db/healow',
    DD_API_KEY: 'apm'
  })
  t.same(environment, { NODE_EXTRA_CA_CERTS: '/etc/ssl/corporate.pem', HTTPS_PROXY: 'http://proxy:3128' },
    'the network settings only: no NODE_OPTIONS, no setting of the gateway or of anything else')
})

t.test('an import process that dies says so', async (t) => {
  const held = await serveHeldDocument(t)
  const importing = collectInChildProcess(held.url, { oauth: OAUTH })
  await held.requested
  const child = await untilImportProcess()
  t.equal(child.nice, getPriority(), 'this process\'s priority unless asked (a first download, which requests wait for)')
  process.kill(child.pid, 'SIGKILL')
  await t.rejects(importing, { message: 'the directory import process ended before it was done (SIGKILL)' })
})

t.test('a directory\'s first download runs at the gateway\'s priority, a refresh while a copy is in use at the lowest', async (t) => {
  let hold = false
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/fhir+json' })
    if (hold) response.write('{"resourceType":"Bundle","entry":[')
    else response.end(JSON.stringify(bundleOf([{ id: 'AAAAAA', name: 'Ocean Allergy', address: 'https://fhir4.healow.com/fhir/r4/AAAAAA' }])))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  const store = await openStore(`sqlite:${path.join(tempDir(t), 'healow-sync.db')}`)
  t.teardown(() => store.close())
  const options = {
    source: `http://127.0.0.1:${(server.address() as AddressInfo).port}/directory.json`,
    oauth: OAUTH,
    store: store.directory,
    log: { info: () => {}, warn: () => {} },
    refreshIntervalMs: 3_600_000
  }
  const directory = new TenantDirectory(options)
  hold = true
  void directory.start()
  t.equal((await untilImportProcess()).nice, getPriority(), 'nothing in use yet: the first download at the gateway\'s priority')
  hold = false
  const closing = directory.close()
  await untilNoImportProcess()
  await closing

  const second = new TenantDirectory(options)
  t.teardown(() => second.close())
  await second.start()
  await second.refresh()
  t.equal(second.get('AAAAAA')?.name, 'Ocean Allergy')
  t.same((await store.directory.loadSnapshot())?.practices,
    [{ id: 'AAAAAA', name: 'Ocean Allergy', fhirBase: 'https://fhir4.healow.com/fhir/r4/AAAAAA' }],
    'the copy the import process wrote is the one stored')
  await untilNoImportProcess()
  hold = true
  const refreshing = second.refresh()
  t.equal((await untilImportProcess()).nice, 19, 'a copy in use: the refresh at the lowest priority')
  await second.close()
  await t.rejects(refreshing, { name: 'AbortError' }, 'closing stops it')
  t.same(importProcesses(), [], 'and its process')
})
