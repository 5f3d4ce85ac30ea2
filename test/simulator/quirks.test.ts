import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { authorize, connect, fhirGet, REDIRECT_URI, tokenRequest } from './oauth-client.js'
import { startForTest } from './start.js'

t.test('alias host links: Bundle links and fullUrl on another origin, which answers too', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'public')
  const search = `${practice.fhirBase}/Observation?patient=${practice.patientId}`
  const aliased = (await fhirGet(search, tokens.access_token)).body
  t.not(sim.aliasBase, sim.url)
  for (const link of aliased.link) t.ok(link.url.startsWith(`${sim.aliasBase}/fhir/r4/${practice.id}`), `${link.relation} on the alias`)
  t.ok(aliased.entry[0].fullUrl.startsWith(sim.aliasBase), 'fullUrl on the alias')
  const next = aliased.link.find((l: any) => l.relation === 'next').url
  t.equal((await fhirGet(next, tokens.access_token)).status, 200, 'the alias host serves the link')

  sim.setQuirks({ aliasHostLinks: false })
  const plain = (await fhirGet(search, tokens.access_token)).body
  t.ok(plain.link.every((l: any) => l.url.startsWith(practice.fhirBase)), 'links on the request origin when off')
})

t.test('_count is refused on CarePlan, CareTeam and Observation searches', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'public')
  const refused = await fhirGet(`${practice.fhirBase}/Observation?patient=${practice.patientId}&_count=50`, tokens.access_token)
  t.equal(refused.status, 400)
  t.equal(refused.body.issue[0].diagnostics, 'Does not know how to handle get operation with parameter [_count,patient]')
  t.equal((await fhirGet(`${practice.fhirBase}/CarePlan?patient=${practice.patientId}&_count=2`, tokens.access_token)).status, 400)
  const condition = await fhirGet(`${practice.fhirBase}/Condition?patient=${practice.patientId}&_count=4`, tokens.access_token)
  t.equal(condition.body.entry.length, 4, 'other types take _count')
  sim.setQuirks({ rejectCount: false })
  const allowed = await fhirGet(`${practice.fhirBase}/Observation?patient=${practice.patientId}&_count=25`, tokens.access_token)
  t.equal(allowed.body.entry.length, 25, 'accepted when off')
})

t.test('legacy content type application/json+fhir', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'public')
  const read = `${practice.fhirBase}/Patient/${practice.patientId}`
  t.match((await fhirGet(read, tokens.access_token)).headers.get('content-type'), /^application\/json\+fhir/)
  t.match((await fhirGet(`${practice.fhirBase}/metadata`)).headers.get('content-type'), /^application\/fhir\+json/, 'metadata as Healow serves it')
  sim.setQuirks({ legacyContentType: false })
  t.match((await fhirGet(read, tokens.access_token)).headers.get('content-type'), /^application\/fhir\+json/)
})

t.test('load-balancer cookies on FHIR and token responses', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const tokens = await connect(sim, practice, 'public')
  t.match(tokens.headers.getSetCookie().join('\n'), /AWSALB=.*\n.*BIGipServer/, 'token response')
  const read = await fhirGet(`${practice.fhirBase}/Patient/${practice.patientId}`, tokens.body.access_token)
  t.match(read.headers.getSetCookie().join('\n'), /AWSALB=/, 'FHIR response')
  sim.setQuirks({ affinityCookies: false })
  const without = await fhirGet(`${practice.fhirBase}/Patient/${practice.patientId}`, tokens.body.access_token)
  t.same(without.headers.getSetCookie(), [])
})

t.test('no CORS headers anywhere, and no Origin refused', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const origin = { origin: 'http://127.0.0.1:5173' }
  const corsHeaders = (headers: { keys (): Iterable<string> }) => [...headers.keys()].filter((name) => name.startsWith('access-control-'))
  const preflight = await fetch(sim.tokenUrl, { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'POST' } })
  t.same(corsHeaders(preflight.headers), [], 'token preflight')
  const { callback, verifier } = await authorize(sim, practice, 'public')
  const token = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { ...origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: verifier, client_id: sim.clients.public.clientId })
  })
  t.equal(token.status, 200, 'a token request with an Origin is answered')
  t.same(corsHeaders(token.headers), [], 'token response')
  const { access_token: accessToken } = await token.json() as { access_token: string }
  for (const url of [`${practice.fhirBase}/metadata`, `${practice.fhirBase}/Patient/${practice.patientId}`, sim.jwksUrl, sim.directoryUrl]) {
    const response = await fetch(url, { headers: { ...origin, authorization: `Bearer ${accessToken}` } })
    t.same(corsHeaders(response.headers), [], url)
  }
})

t.test('rate limit per practice and minute, /token included, 429 without Retry-After', async (t) => {
  const sim = await startForTest(t, { quirks: { rateLimitPerMinute: 4 } })
  const [practice, other] = sim.practices
  // Keep the whole test inside one calendar minute.
  if (Date.now() % 60_000 > 58_000) await sleep(60_000 - (Date.now() % 60_000) + 100)
  const tokens = await connect(sim, practice, 'confidential') // /authorize and /token: 2 of 4
  t.equal(tokens.status, 200)
  const read = `${practice.fhirBase}/Patient/${practice.patientId}`
  t.equal((await fhirGet(read, tokens.body.access_token)).status, 200) // 3
  const refreshed = await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token }) // 4
  t.equal(refreshed.status, 200)
  const limited = await fhirGet(read, refreshed.body.access_token)
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), null, 'no Retry-After')
  const limitedRefresh = await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token })
  t.equal(limitedRefresh.status, 429, 'the token endpoint counts against the practice of the grant')
  t.equal((await fhirGet(`${other.fhirBase}/metadata`)).status, 200, 'another practice is not limited')
  t.equal(sim.counters().rateLimited, 2)
  t.equal(sim.counters().token['refresh_token:rate_limited'], 1)

  sim.setQuirks({ rateLimitPerMinute: null })
  t.equal((await fhirGet(read, refreshed.body.access_token)).status, 200, 'off')
})

t.test('hollow Goal search (off by default): total 50, no entries, no next link', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'public')
  const search = `${practice.fhirBase}/Goal?patient=${practice.patientId}`
  const normal = (await fhirGet(search, tokens.access_token)).body
  t.equal(normal.total, normal.entry?.length ?? 0, 'off: total matches the entries')
  sim.setQuirks({ hollowGoalSearch: true })
  const hollow = await fhirGet(search, tokens.access_token)
  t.equal(hollow.status, 200)
  t.match(hollow.body, { resourceType: 'Bundle', total: 50 })
  t.equal(hollow.body.entry, undefined)
  t.same(hollow.body.link.map((l: any) => l.relation), ['self'])
})
