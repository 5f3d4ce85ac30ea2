import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import smart from 'fhirclient'
import { getSecurityExtensions } from 'fhirclient/lib/smart.js'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris'

t.test('metadata without the key: the practice\'s CapabilityStatement, fetched once, with no way to Healow\'s login', async (t) => {
  const stack = await startStack(t)
  const { connectionId } = await connectPatient(stack)
  const practice = stack.sim.practices[0].id
  const fhirCalls = () => stack.sim.counters().fhir[practice] ?? 0
  const before = fhirCalls()

  const res = await fetch(`${stack.gw.url}/fhir/${connectionId}/metadata`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/fhir\+json/)
  const text = await res.text()
  const statement = JSON.parse(text) as {
    resourceType: string,
    fhirVersion: string,
    rest: Array<{ security: unknown, resource: unknown[] }>
  }
  t.match(statement, { resourceType: 'CapabilityStatement', fhirVersion: '4.0.1' })
  t.ok(statement.rest[0].resource.length > 10, 'the practice\'s resources and search parameters are kept')
  t.match(statement.rest[0].security, { description: /connection key/ })
  t.notOk(text.includes(OAUTH_URIS), 'no SMART oauth-uris extension')
  t.notOk(text.includes(stack.sim.authorizeUrl) || text.includes(stack.sim.tokenUrl), 'no Healow OAuth endpoint')
  t.notOk(text.includes(`/fhir/r4/${practice}`), 'no Healow address')
  t.equal(fhirCalls(), before + 1, 'one request reached Healow, without credentials')

  t.equal((await fetch(`${stack.gw.url}/fhir/${connectionId}/metadata?_format=json`)).status, 200)
  t.equal(fhirCalls(), before + 1, 'the second is served from the cache')

  const unknown = await fetch(`${stack.gw.url}/fhir/00000000-0000-4000-8000-000000000000/metadata`)
  t.equal(unknown.status, 404)
  t.match(await unknown.json(), { resourceType: 'OperationOutcome', issue: [{ details: { coding: [{ code: 'not_found' }] } }] })
  t.equal((await fetch(`${stack.gw.url}/fhir/not_an.id/metadata`)).status, 400, 'an id outside the grammar')
  t.equal((await fetch(`${stack.gw.url}/fhir/${connectionId}/metadata/Patient`)).status, 404, 'nothing below metadata is served without the key')

  const wellKnown = await fetch(`${stack.gw.url}/fhir/${connectionId}/.well-known/smart-configuration`)
  t.equal(wellKnown.status, 404)
  const wellKnownText = await wellKnown.text()
  t.match(JSON.parse(wellKnownText), { resourceType: 'OperationOutcome', issue: [{ details: { coding: [{ code: 'not_found' }] } }] })
  t.notOk(wellKnownText.includes(stack.sim.authorizeUrl), 'never sends a client to Healow\'s login')
  t.equal(fhirCalls(), before + 1, 'nothing of it reached Healow')
})

t.test('metadata fetched from Healow takes a slot of the practice\'s budget; with none left it is refused before Healow', async (t) => {
  const stack = await startStack(t)
  const { connectionId } = await connectPatient(stack)
  const practice = stack.sim.practices[0].id
  let spent = 0
  while ((await stack.gw.app.requestBudget.take(practice)).ok) spent++
  t.ok(spent > 0)
  const before = stack.sim.counters().fhir[practice] ?? 0
  const res = await fetch(`${stack.gw.url}/fhir/${connectionId}/metadata`)
  t.equal(res.status, 429)
  t.ok(Number(res.headers.get('retry-after')) >= 1, 'with Retry-After')
  t.match(await res.json(), { issue: [{ details: { coding: [{ code: 'rate_limited' }] } }] })
  t.equal(stack.sim.counters().fhir[practice] ?? 0, before, 'nothing reached Healow')
})

t.test('fhirclient, server-side with the connection key as its access token, pages through a multi-page search', async (t) => {
  // Ten Observations a page, 35 for the patient: four pages.
  const stack = await startStack(
    t,
    { simulator: { pageSize: 10, resourcesPerType: 35 }, env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase }) }
  )
  const { connectionId, key, claim } = await connectPatient(stack)
  const patientId = (claim.connection as { patientId: string }).patientId
  const serverUrl = `${stack.gw.url}/fhir/${connectionId}`

  // What a SMART client asks before it has any token: the gateway answers that there is no
  // authorization server to go to, rather than pointing at Healow's.
  const security = await getSecurityExtensions(serverUrl)
  t.match(security, { authorizeUri: '', tokenUri: '' })

  // An app's own backend, as fhirclient's Node adapter is meant to be used: inside a request handler.
  const backend = createServer((req, res) => {
    const client = smart(req, res).client({ serverUrl, tokenResponse: { access_token: key, patient: patientId } })
    const pages: number[] = []
    Promise.all([
      client.getFhirVersion(),
      client.patient.request<Array<{ id: string }>>('Observation', { pageLimit: 0, flat: true, onPage: (page: unknown) => { pages.push((page as unknown[]).length) } })
    ]).then(([version]) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version, pages }))
    }, (err: Error) => res.writeHead(500).end(err.message))
  })
  backend.listen(0, '127.0.0.1')
  await once(backend, 'listening')
  t.teardown(() => backend.close())

  const answer = await fetch(`http://127.0.0.1:${(backend.address() as { port: number }).port}/`)
  const body = await answer.text()
  t.equal(answer.status, 200, body)
  const { version, pages } = JSON.parse(body) as { version: string, pages: number[] }
  t.equal(version, '4.0.1', 'the FHIR version, from metadata fetched without credentials')
  t.same(pages, [10, 10, 10, 5], 'every page of the search, following the next links through the gateway')

  const direct = await fetch(`${serverUrl}/Observation?patient=${patientId}`, { headers: bearer(key) })
  t.match(await direct.json(), { total: 35 })
})
