import t from 'tap'
import { writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { openStore } from '../../lib/store/open.js'
import { SmartDiscovery } from '../../lib/directory/smart-discovery.js'
import { bundleOf, syntheticBundle } from '../helpers/synthetic-bundle.js'
import { freePort, startGateway, tempDir, type TestGateway } from '../helpers/app.js'

type Test = Parameters<typeof tempDir>[0]

/** A loopback HTTP server answering every request with `respond`; counts what it was asked. */
async function serve (t: Test, respond: (url: string) => { status?: number, body: unknown, delayMs?: number }) {
  const requests: string[] = []
  const server: Server = createServer((request, response) => {
    requests.push(request.url ?? '')
    const { status = 200, body, delayMs = 0 } = respond(request.url ?? '')
    setTimeout(() => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }, delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

async function readiness (gateway: TestGateway): Promise<{ status: number, body: any }> {
  const response = await fetch(`${gateway.url}/ready`)
  return { status: response.status, body: await response.json() }
}

async function untilReady (gateway: TestGateway): Promise<void> {
  const deadline = Date.now() + 15_000
  while ((await readiness(gateway)).status !== 200) {
    if (Date.now() > deadline) throw new Error('the directory never became ready')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const searchNames = async (gateway: TestGateway, query: string): Promise<string[]> => {
  const response = await fetch(`${gateway.url}/api/v1/healow/tenants?query=${encodeURIComponent(query)}`)
  return ((await response.json()) as Array<{ name: string }>).map((tenant) => tenant.name)
}

const PRACTICES = [
  { id: 'AAAAAA', name: 'Ocean Allergy', address: 'https://fhir4.healow.com/fhir/r4/AAAAAA' },
  { id: 'BBBBBB', name: 'Mountain Ridge Healthcare', address: 'https://fhir4.healow.com/fhir/r4/BBBBBB' },
  { id: 'CCCCCC', name: 'No Address Clinic' }
]

t.test('a directory file is loaded in the background and saved to the store', async (t) => {
  const dataDir = tempDir(t)
  const file = path.join(dataDir, 'directory.json')
  writeFileSync(file, JSON.stringify(bundleOf(PRACTICES)))
  const gateway = await startGateway(t, { DATA_DIR: dataDir, HEALOW_DIRECTORY_URL: file })
  await untilReady(gateway)
  t.match((await readiness(gateway)).body.checks.directory, { ok: true, detail: /^2 practices from / })
  t.same(await searchNames(gateway, 'ocean'), ['Ocean Allergy'])
  t.match(gateway.logs.text, /"skipped":\{"no address":1\}/, 'the skipped entry is counted in the log')
  const snapshot = await gateway.app.store.directory.loadSnapshot()
  t.equal(snapshot?.practices.length, 2)
  t.equal(snapshot?.source, file)
})

t.test('a directory URL is fetched; a refresh reports what changed', async (t) => {
  let practices = PRACTICES
  const healow = await serve(t, () => ({ body: bundleOf(practices) }))
  const gateway = await startGateway(t, { HEALOW_DIRECTORY_URL: `${healow.url}/directory.json` })
  await untilReady(gateway)
  t.same(await searchNames(gateway, 'mountain'), ['Mountain Ridge Healthcare'])
  await gateway.app.tenantDirectory.refresh() // the first one, if still saving its copy, finishes

  practices = [
    { id: 'AAAAAA', name: 'Ocean Allergy & Asthma', address: 'https://fhir4.healow.com/fhir/r4/AAAAAA' },
    { id: 'DDDDDD', name: 'Valley Pediatrics', address: 'https://fhir4.healow.com/fhir/r4/DDDDDD' }
  ]
  const result = await gateway.app.tenantDirectory.refresh()
  t.match(result, { added: 1, changed: 1, removed: 1 })
  t.same(await searchNames(gateway, 'mountain'), [])
  t.same(await searchNames(gateway, 'asthma'), ['Ocean Allergy & Asthma'])
  t.ok(healow.requests.every((url) => url === '/directory.json'))
})

t.test('with Healow unreachable, start-up serves the stored copy', async (t) => {
  const dataDir = tempDir(t)
  const store = await openStore(`sqlite:${path.join(dataDir, 'healow-sync.db')}`)
  await store.directory.saveSnapshot({
    fetchedAt: '2026-01-02T03:04:05.000Z',
    source: 'https://healow.example/directory',
    practicesJson: JSON.stringify([{ id: 'AAAAAA', name: 'Ocean Allergy', fhirBase: 'https://fhir4.healow.com/fhir/r4/AAAAAA', authorizeUrl: 'https://old', tokenUrl: 'https://old' }])
  })
  await store.close()
  const closedPort = await freePort()
  const gateway = await startGateway(t, { DATA_DIR: dataDir, HEALOW_DIRECTORY_URL: `http://127.0.0.1:${closedPort}/directory.json` })

  t.equal((await readiness(gateway)).status, 200, 'ready at once, from the stored copy')
  const [tenant] = await (await fetch(`${gateway.url}/api/v1/healow/tenants?query=ocean`)).json() as Array<Record<string, string>>
  t.same(tenant, {
    id: 'AAAAAA',
    name: 'Ocean Allergy',
    url: 'https://fhir4.healow.com/fhir/r4/AAAAAA',
    token: gateway.config.HEALOW_TOKEN_URL,
    authorize: gateway.config.HEALOW_AUTHORIZE_URL
  }, 'OAuth URLs come from the configuration, not from the stored copy')
  await gateway.app.tenantDirectory.refresh().catch(() => {})
  t.match(gateway.logs.text, /practice directory refresh failed; keeping the copy in use/)
  t.equal((await readiness(gateway)).status, 200, 'a failed refresh keeps the copy in use')
})

t.test('without any copy the service starts and /ready says why the directory is not ready', async (t) => {
  const closedPort = await freePort()
  const source = `http://127.0.0.1:${closedPort}/directory.json`
  const gateway = await startGateway(t, { HEALOW_DIRECTORY_URL: source })
  await gateway.app.tenantDirectory.refresh().catch(() => {})
  const { status, body } = await readiness(gateway)
  t.equal(status, 503)
  t.match(body.checks.directory, { ok: false, detail: `directory not loaded yet: ${source}: cannot reach ${source}: ECONNREFUSED` })
  const search = await fetch(`${gateway.url}/tenants?q=ocean`)
  t.equal(search.status, 503)
  t.match(await search.json(), { statusCode: 503, error: 'Service Unavailable', message: /^directory not loaded yet: / })
  t.equal((await fetch(`${gateway.url}/tenants/AAAAAA`)).status, 503)
})

t.test('a document that is not a directory is refused and the copy in use kept', async (t) => {
  let body: unknown = bundleOf(PRACTICES)
  const healow = await serve(t, () => ({ body }))
  const gateway = await startGateway(t, { HEALOW_DIRECTORY_URL: `${healow.url}/directory.json` })
  await untilReady(gateway)
  // Ready once the index is in; the first refresh goes on to save its copy, and a refresh asked for
  // meanwhile joins it (and its good document) instead of fetching the broken one.
  await gateway.app.tenantDirectory.refresh()
  for (const broken of [{ resourceType: 'OperationOutcome' }, bundleOf([{ id: 'X', name: 'X' }])]) {
    body = broken
    await t.rejects(gateway.app.tenantDirectory.refresh())
    t.equal(gateway.app.tenantDirectory.status().practices, 2)
  }
  t.match(gateway.app.tenantDirectory.status().lastError, /no usable practice/)
})

t.test('SMART discovery reads a practice\'s OAuth endpoints, caches them, and times out', async (t) => {
  const smart = await serve(t, (url) => url.startsWith('/fhir/r4/SLOW')
    ? { body: {}, delayMs: 2_000 }
    : url.startsWith('/fhir/r4/GONE')
      ? { status: 404, body: {} }
      : url.startsWith('/fhir/r4/HTTP')
        ? { body: { authorization_endpoint: 'http://oauth.example/authorize', token_endpoint: 'http://oauth.example/token' } }
        : { body: { authorization_endpoint: 'https://oauth.example/authorize', token_endpoint: 'https://oauth.example/token' } })
  const discovery = new SmartDiscovery({ allowLoopbackHttp: true, timeoutMs: 200 })
  const expected = { authorizeUrl: 'https://oauth.example/authorize', tokenUrl: 'https://oauth.example/token' }
  const [first, second] = await Promise.all([
    discovery.lookup(`${smart.url}/fhir/r4/GOOD01`), discovery.lookup(`${smart.url}/fhir/r4/GOOD01`)
  ])
  t.same(first, expected)
  t.same(second, expected)
  t.same(await discovery.lookup(`${smart.url}/fhir/r4/GOOD01`), expected)
  t.same(smart.requests, ['/fhir/r4/GOOD01/.well-known/smart-configuration'], 'one request for three lookups')

  await t.rejects(discovery.lookup(`${smart.url}/fhir/r4/GONE01`), /HTTP 404/)
  await t.rejects(discovery.lookup(`${smart.url}/fhir/r4/HTTP01`), /no usable https authorization_endpoint/)
  const started = Date.now()
  await t.rejects(discovery.lookup(`${smart.url}/fhir/r4/SLOW01`))
  t.ok(Date.now() - started < 1_500, 'gave up after the timeout')
  await t.rejects(discovery.lookup(`${smart.url}/fhir/r4/GONE01`), /HTTP 404/)
  t.equal(smart.requests.filter((url) => url.startsWith('/fhir/r4/GONE01')).length, 2, 'failures are not cached')
})

t.test('the directory falls back to the shared OAuth server when discovery fails', async (t) => {
  const closedPort = await freePort()
  const gateway = await startGateway(t)
  const practice = {
    id: 'SIM001', name: 'Simulated', fhirBase: `http://127.0.0.1:${closedPort}/fhir/r4/SIM001`, authorizeUrl: 'https://shared/authorize', tokenUrl: 'https://shared/token'
  }
  const shared = { authorizeUrl: 'https://shared/authorize', tokenUrl: 'https://shared/token' }
  t.same(await gateway.app.tenantDirectory.oauthEndpoints(practice), shared)
  t.same(await gateway.app.tenantDirectory.oauthEndpoints(practice, { discover: true }), shared)
  t.match(gateway.logs.text, /SMART discovery failed; using the shared OAuth server/)
})

t.test('a generated directory of the real size imports', async (t) => {
  const dataDir = tempDir(t)
  const file = path.join(dataDir, 'directory.json')
  writeFileSync(file, JSON.stringify(syntheticBundle(6919)))
  const gateway = await startGateway(t, { DATA_DIR: dataDir, HEALOW_DIRECTORY_URL: file })
  await untilReady(gateway)
  t.equal(gateway.app.tenantDirectory.status().practices, 6919)
})
