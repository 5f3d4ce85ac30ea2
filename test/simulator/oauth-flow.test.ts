import t from 'tap'
import { decodeJwt } from 'jose'
import { connect, fhirGet, tokenRequest } from './oauth-client.js'
import { startForTest } from './start.js'

t.test('confidential client: authorize → login → code → token → paged search → refresh', async (t) => {
  const sim = await startForTest(t, { quirks: { aliasHostLinks: false } })
  const practice = sim.practices[0]
  const tokens = await connect(sim, practice, 'confidential')
  t.equal(tokens.status, 200)
  t.equal(tokens.body.token_type, 'Bearer')
  t.equal(tokens.body.expires_in, 3600)
  t.equal(tokens.body.patient, practice.patientId, 'patient in the token response')
  t.match(tokens.body.scope, /openid fhirUser offline_access patient\/Patient\.read .*patient\/Observation\.read/, 'granted scopes echoed')
  t.ok(tokens.body.refresh_token, 'a refresh token with offline_access')
  const idToken = decodeJwt(tokens.body.id_token)
  t.equal(idToken.fhirUser, `Patient/${practice.patientId}`)
  t.equal(idToken.aud, sim.clients.confidential.clientId)
  t.equal(decodeJwt(tokens.body.access_token).aud, practice.fhirBase, 'access token for the practice base')

  // Follow every next link: 30 Observations, 10 per page.
  const seen: string[] = []
  let next: string | undefined = `${practice.fhirBase}/Observation?patient=${practice.patientId}`
  while (next) {
    const page = await fhirGet(next, tokens.body.access_token)
    t.equal(page.status, 200)
    t.equal(page.body.total, 30)
    seen.push(...page.body.entry.map((e: any) => e.resource.id))
    next = page.body.link.find((l: any) => l.relation === 'next')?.url
    if (next) t.ok(next.startsWith(`${practice.fhirBase}?_getpages=`), 'absolute next link on the base')
  }
  t.equal(new Set(seen).size, 30, 'all Observations once')

  const refreshed = await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token })
  t.equal(refreshed.status, 200)
  t.not(refreshed.body.refresh_token, tokens.body.refresh_token, 'a new refresh token each time')
  t.equal(refreshed.body.patient, practice.patientId)
  t.equal((await fhirGet(`${practice.fhirBase}/Patient/${practice.patientId}`, refreshed.body.access_token)).status, 200)

  const reused = await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token })
  t.equal(reused.status, 400)
  t.equal(reused.body.error, 'invalid_grant', 'a spent refresh token is refused')
  // oidc-provider then revokes the whole grant: the newest refresh token dies too.
  const newest = await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token })
  t.equal(newest.body.error, 'invalid_grant')

  t.same(sim.counters().token, { 'authorization_code:ok': 1, 'refresh_token:ok': 1, 'refresh_token:invalid_grant': 2 })
  t.equal(sim.counters().fhir[practice.id], 4)
})

t.test('public client: the same flow, without a refresh token', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[1]
  const tokens = await connect(sim, practice, 'public')
  t.equal(tokens.status, 200)
  t.notOk(tokens.body.refresh_token, 'public clients get no refresh token')
  t.notMatch(tokens.body.scope, /offline_access/)
  t.equal(decodeJwt(tokens.body.id_token).fhirUser, `Patient/${practice.patientId}`)
  const search = await fhirGet(`${practice.fhirBase}/Observation?patient=${practice.patientId}`, tokens.body.access_token)
  t.equal(search.status, 200)
  t.equal(search.body.entry.length, 10)
  const next = search.body.link.find((l: any) => l.relation === 'next').url
  t.equal((await fhirGet(next, tokens.body.access_token)).status, 200, 'next link works (on the alias host)')
  const refresh = await tokenRequest(sim, 'public', { grant_type: 'refresh_token', refresh_token: 'anything' })
  t.equal(refresh.status, 400)
})

t.test('POST _search form-encoded', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const tokens = await connect(sim, practice, 'public')
  const response = await fetch(`${practice.fhirBase}/Condition/_search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.body.access_token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ patient: practice.patientId })
  })
  t.equal(response.status, 200)
  const bundle = await response.json() as any
  t.equal(bundle.total, 9)
  t.equal(bundle.entry[0].resource.resourceType, 'Condition')
})
