import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'fhir-kit-client'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'
import { CRAFTED_PATHS, rawRequest, recordOutgoing, startDecoy } from '../helpers/fhir-proxy-attacks.js'
import { testOnEachStore, type StoreUnderTest } from '../helpers/stores.js'

type Test = Parameters<typeof startStack>[0]

async function connectedStack (t: Test, under: StoreUnderTest, env: Record<string, string> = {}, simulator = {}) {
  const stack = await startStack(t, { store: under, simulator, env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn', ...env }) })
  const connection = await connectPatient(stack)
  const fhir = `${stack.gw.url}/fhir/${connection.connectionId}`
  const patientId = stack.sim.practices[0].patientId
  return { stack, connection, fhir, patientId, get: (path: string, init: RequestInit = {}) => fetch(`${fhir}${path}`, { ...init, headers: { ...bearer(connection.key), ...init.headers as Record<string, string> } }) }
}

const codeOf = async (res: Response) => {
  t.equal(res.headers.get('content-type')?.split(';')[0], 'application/fhir+json', 'errors are FHIR JSON')
  const body = await res.json() as {
    resourceType: string,
    issue: Array<{ details: { coding: Array<{ code: string }> } }>
  }
  return body.resourceType === 'OperationOutcome' ? body.issue[0].details.coding[0].code : body.resourceType
}

testOnEachStore('fhir-kit-client pages through every entry of a multi-page search via the rewritten links (alias-host quirk on)', async (t, under) => {
  const { stack, connection, fhir, patientId } = await connectedStack(
    t,
    under,
    {},
    { quirks: { aliasHostLinks: true }, pageSize: 7 }
  )
  const client = new Client({ baseUrl: fhir, bearerToken: connection.key })
  type SearchBundle = {
    resourceType: string,
    total: number,
    entry?: Array<{ fullUrl?: string, resource: { id: string } }>,
    link: Array<{ relation: string, url: string }>
  }
  let bundle = await client.search({ resourceType: 'Observation', searchParams: { patient: patientId } }) as unknown as SearchBundle
  const total = bundle.total
  const ids: string[] = []
  let pages = 0
  for (;;) {
    pages++
    for (const link of bundle.link) t.ok(link.url.startsWith(fhir), `${link.relation} link goes through the gateway`)
    for (const entry of bundle.entry ?? []) {
      t.ok(entry.fullUrl?.startsWith(`${fhir}/Observation/`), 'fullUrl goes through the gateway')
      ids.push(entry.resource.id)
    }
    const next = await client.nextPage({ bundle }) as unknown as SearchBundle | undefined
    if (!next) break
    bundle = next
  }
  t.ok(total > 7 && pages === Math.ceil(total / 7), `${pages} pages for ${total} entries`)
  t.equal(new Set(ids).size, total, 'every entry once')
  t.equal(JSON.stringify(bundle).includes(stack.sim.aliasBase), false, 'no alias-host URL leaks to the client')
})

testOnEachStore('the battery of crafted paths reaches neither another host, another practice nor the token endpoint', async (t, under) => {
  const { stack, connection, fhir, patientId } = await connectedStack(t, under)
  const decoy = await startDecoy(t)
  const other = stack.sim.practices[1]
  stack.sim.resetCounters()
  const outgoing = recordOutgoing(t, stack.gw.url)
  const prefix = new URL(fhir).pathname
  const fill = (s: string) => s.replaceAll('{decoy}', decoy.host).replaceAll('{other}', other.id)
  for (const c of CRAFTED_PATHS) {
    const res = await rawRequest(stack.gw.url, {
      method: c.method,
      target: prefix + fill(c.rest),
      headers: { ...bearer(connection.key), ...(c.contentType ? { 'Content-Type': c.contentType } : {}) },
      body: c.body ? fill(c.body) : ''
    })
    t.ok(res.status >= 400 && res.status < 500, `${c.name}: refused with ${res.status}`)
  }
  // Request lines a client library would never write.
  // The connection id is read from the raw URL, not from a route parameter: no spelling of it may pass either.
  const id = connection.connectionId
  for (const target of [`http://${decoy.host}${prefix}/Patient`, `${prefix.replace('/fhir/', '/fhir/%2e%2e/')}/Patient`, `/fhir/${id}%2f..%2f${other.id}/Patient`,
    '/fhir', '/fhir/', `/fhir//${id}/Patient`, `/fhir/${id}@${decoy.host}/Patient`, `/fhir/${id}%40${decoy.host}/Patient`, `/fhir/${id}:443/Patient`, `/fhir/./${id}/Patient`, `/fhir?${id}/Patient`]) {
    const res = await rawRequest(stack.gw.url, { target, headers: bearer(connection.key) })
    t.ok(res.status >= 400 && res.status < 500, `${target}: refused with ${res.status}`)
  }
  t.same(decoy.seen, [], 'the decoy saw nothing')
  t.same(outgoing, [], 'the gateway sent nothing anywhere')
  const counters = stack.sim.counters()
  t.same({ fhir: counters.fhir, token: counters.token, authorize: counters.authorize }, { fhir: {}, token: {}, authorize: {} }, 'the simulator saw nothing')

  // Header games on a legitimate read: the read goes to this practice's base and nowhere else.
  const headerGames = {
    'X-Forwarded-Host': decoy.host,
    'X-Forwarded-Proto': 'http',
    Forwarded: `host=${decoy.host}`,
    'X-Original-URL': '/oauth/oauth2/token',
    'X-Rewrite-URL': `/fhir/r4/${other.id}/Patient`,
    'X-HTTP-Method-Override': 'DELETE'
  }
  const res = await rawRequest(stack.gw.url, { target: `${prefix}/Patient/${patientId}`, headers: { ...bearer(connection.key), ...headerGames } })
  t.equal(res.status, 200, res.text.slice(0, 600))
  t.equal(outgoing.length, 1, 'one upstream request')
  t.equal(`${outgoing[0].origin}${outgoing[0].path}`, `${stack.sim.practices[0].fhirBase}/Patient/${patientId}`)
  for (const name of Object.keys(headerGames)) t.notMatch(outgoing[0].headers.toLowerCase(), `${name.toLowerCase()}:`, `${name} not forwarded`)
  t.same(decoy.seen, [])
  t.same(stack.sim.counters().fhir, { [stack.sim.practices[0].id]: 1 })
})

testOnEachStore('no caller credential reaches the simulator, no upstream cookie reaches the caller', async (t, under) => {
  const { stack, connection, get, patientId } = await connectedStack(t, under)
  const outgoing = recordOutgoing(t, stack.gw.url)
  const res = await get(`/Observation?patient=${patientId}`, { headers: { cookie: 'session=caller-cookie', 'proxy-authorization': 'Basic c2VjcmV0', 'x-api-key': connection.key } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('set-cookie'), null, 'Healow affinity cookies stripped')
  t.equal(res.headers.get('content-type')?.split(';')[0], 'application/fhir+json', 'R4 media type instead of application/json+fhir')
  const head = await get(`/Patient/${patientId}`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD')
  t.equal(head.headers.get('set-cookie'), null)
  t.ok(outgoing.length >= 2)
  for (const request of outgoing) {
    t.notOk(request.headers.includes(connection.key), 'connection key never sent')
    t.notOk(/cookie/i.test(request.headers), 'no cookie sent')
    t.notOk(/proxy-authorization|x-api-key/i.test(request.headers), 'no other credential header sent')
    if (request.path.startsWith('/fhir/')) t.match(request.headers, /authorization: Bearer ey/i, 'the Healow access token is injected')
  }
})

testOnEachStore('an expired token is refreshed once and the read retried; a dead grant answers reauth_required', async (t, under) => {
  const { stack, get, patientId } = await connectedStack(t, under)
  stack.sim.resetCounters()
  stack.sim.expireAccessTokens()
  const res = await get(`/Patient/${patientId}`)
  t.equal(res.status, 200, 'transparent retry')
  t.same(stack.sim.counters().token, { 'refresh_token:ok': 1 })
  stack.sim.expireAccessTokens()
  stack.sim.setFaults({ invalidGrantOnNextRefresh: true })
  const dead = await get(`/Patient/${patientId}`)
  t.equal(dead.status, 401)
  t.equal(await codeOf(dead), 'reauth_required')
})

testOnEachStore('the per-practice budget queues or answers 429 with Retry-After before Healow would', async (t, under) => {
  const { stack, get, patientId } = await connectedStack(t, under, { HEALOW_RATE_LIMIT_PER_MINUTE: '6' })
  stack.sim.resetCounters()
  const statuses: number[] = []
  let retryAfter: string | null = null
  for (let i = 0; i < 8; i++) {
    const res = await get(`/Patient/${patientId}`)
    statuses.push(res.status)
    if (res.status === 429) {
      retryAfter = res.headers.get('retry-after')
      t.equal(await codeOf(res), 'rate_limited')
    } else await res.arrayBuffer()
  }
  t.ok(statuses.filter((s) => s === 200).length <= 5, `at most the budget went through (${statuses.join(',')})`)
  t.ok(statuses.includes(429), 'then 429')
  t.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`)
  t.equal(stack.sim.counters().rateLimited, 0, 'Healow never had to say 429')
})

testOnEachStore('a read whose token refresh finds the budget spent answers 429 rate_limited with Retry-After', async (t, under) => {
  // Tokens that live less than the refresh margin: every read refreshes first, and each refresh takes from the budget.
  const { stack, get, patientId } = await connectedStack(t, under, { HEALOW_RATE_LIMIT_PER_MINUTE: '6' }, { accessTokenTtl: 120 })
  stack.sim.resetCounters()
  let refused: Response | undefined
  for (let i = 0; i < 6 && !refused; i++) {
    const res = await get(`/Patient/${patientId}`)
    if (res.status === 429) refused = res
    else await res.arrayBuffer()
  }
  t.ok(refused, 'the budget ran out')
  t.equal(await codeOf(refused!), 'rate_limited', 'rate_limited, not invalid_request')
  t.ok(Number(refused!.headers.get('retry-after')) >= 1, `Retry-After ${refused!.headers.get('retry-after')}`)
  t.equal(stack.sim.counters().rateLimited, 0, 'Healow never had to say 429')
})

testOnEachStore("Healow's own 429 becomes rate_limited, and the practice is held off for the rest of the minute", async (t, under) => {
  const { stack, get, patientId } = await connectedStack(t, under)
  // Healow's 429 names no wait, so the gateway holds off until a second after the minute ends;
  // within its last second or two a request may rightly queue that long and then go through.
  const leftInMinute = 60_000 - Date.now() % 60_000
  if (leftInMinute < 5_000) await sleep(leftInMinute + 100)
  stack.sim.resetCounters()
  stack.sim.setQuirks({ rateLimitPerMinute: 1 })
  t.equal((await get(`/Patient/${patientId}`)).status, 200)
  const limited = await get(`/Patient/${patientId}`)
  t.equal(limited.status, 429)
  t.ok(Number(limited.headers.get('retry-after')) >= 1)
  t.equal(await codeOf(limited), 'rate_limited')
  const before = stack.sim.counters().fhir
  const held = await get(`/Patient/${patientId}`)
  t.equal(held.status, 429)
  await held.arrayBuffer()
  t.same(stack.sim.counters().fhir, before, 'the held-off request never left the gateway')
})

testOnEachStore("Healow's uncertain search behaviours: a hollow Goal Bundle passes through; a hung DocumentReference search times out alone", async (t, under) => {
  const { stack, get, patientId } = await connectedStack(t, under, { UPSTREAM_TIMEOUT_MS: '1000' })
  stack.sim.setQuirks({ hollowGoalSearch: true })
  const goals = await get(`/Goal?patient=${patientId}`)
  t.equal(goals.status, 200)
  const bundle = await goals.json() as { total: number, entry?: unknown[], link: Array<{ relation: string }> }
  t.equal(bundle.total, 50)
  t.equal(bundle.entry, undefined, 'nothing invented')
  t.same(bundle.link.map((l) => l.relation), ['self'], 'no next link, so a client that pages stops')
  stack.sim.setFaults({ documentReferenceDelayMs: 3000 })
  const [documents, observations] = await Promise.all([get(`/DocumentReference?patient=${patientId}`), get(`/Observation?patient=${patientId}`)])
  t.equal(documents.status, 504)
  t.equal(await codeOf(documents), 'upstream_timeout')
  t.equal(observations.status, 200, 'other reads are not held up')
})

testOnEachStore('upstream trouble answers OperationOutcome codes a client can act on', async (t, under) => {
  const { stack, get, patientId } = await connectedStack(t, under, { UPSTREAM_TIMEOUT_MS: '1000' })
  stack.sim.setFaults({ latencyMs: 1500 })
  const slow = await get(`/Patient/${patientId}`)
  t.equal(slow.status, 504)
  t.equal(await codeOf(slow), 'upstream_timeout')
  stack.sim.setFaults({ latencyMs: 0, errorRate: 1 })
  const failing = await get(`/Observation?patient=${patientId}`)
  t.equal(failing.status, 502)
  t.equal(await codeOf(failing), 'upstream_unavailable')
  stack.sim.setFaults({ errorRate: 0 })
  const put = await get(`/Patient/${patientId}`, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/fhir+json' } })
  t.equal(put.status, 405)
  t.equal(put.headers.get('allow'), 'GET, HEAD, POST')
  t.equal(await codeOf(put), 'method_not_allowed')
  const unknown = await get('/Foo')
  t.equal(unknown.status, 404)
  t.equal(await codeOf(unknown), 'not_found')
  const noKey = await fetch(`${stack.gw.url}/fhir/${stack.sim.practices[0].id}/Patient`)
  t.equal(noKey.status, 401)
  t.equal(await codeOf(noKey), 'unauthorized')
  await stack.sim.close()
  const down = await get(`/Patient/${patientId}`)
  t.equal(down.status, 502)
  t.equal(await codeOf(down), 'upstream_unavailable')
})

testOnEachStore('POST _search with a form body, and a Binary streamed through unchanged', async (t, under) => {
  const bytes = 3 * 1024 * 1024
  const { stack, fhir, get, patientId } = await connectedStack(t, under, {}, { largeBinaryBytes: bytes })
  const search = await get('/Observation/_search', { method: 'POST', body: new URLSearchParams({ patient: patientId }), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(search.status, 200)
  const bundle = await search.json() as { entry: Array<{ fullUrl: string }>, link: Array<{ url: string }> }
  t.ok(bundle.entry.length > 0 && bundle.entry.every((e) => e.fullUrl.startsWith(fhir)))
  const binary = await get('/Binary/large')
  t.equal(binary.status, 200)
  const body = Buffer.from(await binary.arrayBuffer())
  t.equal(Number(binary.headers.get('content-length')), body.length, 'length announced by Healow kept')
  const parsed = JSON.parse(body.toString('utf8')) as { resourceType: string, data: string }
  t.equal(parsed.resourceType, 'Binary')
  t.equal(Buffer.from(parsed.data, 'base64').length, bytes)
  t.ok(stack)
  // Whatever a Binary holds, it must never run as a page on the gateway's origin.
  for (const res of [search, binary, await get('/NotAType')]) {
    t.equal(res.headers.get('x-content-type-options'), 'nosniff')
    t.match(res.headers.get('content-security-policy'), /default-src 'none'.*sandbox/)
  }
})
