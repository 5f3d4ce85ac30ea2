import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { authorize, connect, fhirGet, REDIRECT_URI, tokenRequest } from './oauth-client.js'
import { startForTest } from './start.js'
import { PatientBrowser } from '../../simulator/browser.js'

t.test('authorize requests Healow refuses', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const refused = async (name: string, overrides: Parameters<typeof authorize>[3], error: string) => {
    const { callback } = await authorize(sim, practice, 'public', overrides)
    t.equal(callback.get('code'), null, `${name}: no code`)
    t.equal(callback.get('error'), error, `${name}: ${error}`)
  }
  await refused('missing aud', { aud: null }, 'invalid_request')
  await refused('aud of no practice', { aud: `${sim.url}/fhir/r4/NOSUCH` }, 'invalid_target')
  await refused('aud with a trailing slash', { aud: `${practice.fhirBase}/` }, 'invalid_target')
  await refused('missing PKCE', { codeChallengeMethod: null }, 'invalid_request')
  await refused('plain PKCE', { codeChallengeMethod: 'plain' }, 'invalid_request')
})

t.test('redirect URIs: any loopback port by default, exactly the given ones otherwise', async (t) => {
  const open = await startForTest(t)
  const localhost = await authorize(open, open.practices[0], 'public', { redirectUri: 'http://localhost:4567/healow/callback' })
  t.ok(localhost.callback.get('code'), 'localhost on any port')
  const elsewhere = await authorize(open, open.practices[0], 'public', { redirectUri: 'http://127.0.0.1:4567/other/callback' })
  t.equal(elsewhere.response?.status, 400, 'another path is refused without a redirect')

  const exact = await startForTest(t, { redirectUris: ['http://127.0.0.1:4000/healow/callback'] })
  const registered = await authorize(exact, exact.practices[0], 'confidential', { redirectUri: 'http://127.0.0.1:4000/healow/callback' })
  t.ok(registered.callback.get('code'))
  const otherPort = await authorize(exact, exact.practices[0], 'confidential', { redirectUri: 'http://127.0.0.1:4001/healow/callback' })
  t.equal(otherPort.response?.status, 400, 'another port is refused')
})

t.test('token requests Healow refuses', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { callback, verifier } = await authorize(sim, practice, 'confidential')
  const form = { grant_type: 'authorization_code', code: callback.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: verifier }
  const wrongSecret = await tokenRequest(sim, 'confidential', form, 'not-the-secret')
  t.equal(wrongSecret.status, 401)
  t.equal(wrongSecret.body.error, 'invalid_client')
  const wrongVerifier = await tokenRequest(sim, 'confidential', { ...form, code_verifier: 'x'.repeat(43) })
  t.equal(wrongVerifier.body.error, 'invalid_grant')
  t.match(sim.counters().token, { 'authorization_code:invalid_client': 1, 'authorization_code:invalid_grant': 1 })
})

t.test('FHIR refuses a missing token, one for another practice, and an expired one', async (t) => {
  // Three seconds: the valid read right after connecting stays well inside it on a loaded machine.
  const sim = await startForTest(t, { accessTokenTtl: 3 })
  const [first, second] = sim.practices
  const tokens = await connect(sim, first, 'public')
  t.equal((await fhirGet(`${first.fhirBase}/Patient/${first.patientId}`, tokens.body.access_token)).status, 200, 'a fresh token reads')
  const missing = await fhirGet(`${first.fhirBase}/Patient/${first.patientId}`)
  t.equal(missing.status, 401)
  t.equal(missing.body.resourceType, 'OperationOutcome')
  const otherPractice = await fhirGet(`${second.fhirBase}/Patient?_id=${first.patientId}`, tokens.body.access_token)
  t.equal(otherPractice.status, 401, 'a token for another practice')
  t.match(otherPractice.body.issue[0].diagnostics, /not issued for this practice/)
  // exp is whole seconds after issue: past it for certain.
  await sleep(4100)
  const expired = await fhirGet(`${first.fhirBase}/Patient/${first.patientId}`, tokens.body.access_token)
  t.equal(expired.status, 401, 'an expired token')
  t.match(expired.body.issue[0].diagnostics, /expired/)
})

t.test('a token reads only its own patient and its granted types', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const tokens = await connect(sim, practice, 'public')
  const otherPatient = await fhirGet(`${practice.fhirBase}/Observation?patient=someone-else`, tokens.body.access_token)
  t.equal(otherPatient.status, 403)
  const notGranted = await fhirGet(`${practice.fhirBase}/Immunization?patient=${practice.patientId}`, tokens.body.access_token)
  t.equal(notGranted.status, 403, 'patient/Immunization.read was not asked for')
})

t.test('a login page opened without its interaction cookie is a clear 400, not a crash', async (t) => {
  const sim = await startForTest(t, { autoLogin: false })
  const browser = new PatientBrowser()
  const url = new URL(sim.authorizeUrl)
  url.search = new URLSearchParams({ response_type: 'code', client_id: sim.clients.public.clientId, redirect_uri: REDIRECT_URI, scope: 'openid fhirUser', aud: sim.practices[0].fhirBase, state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString()
  const start = await browser.get(url)
  const loginUrl = new URL(start.headers.get('location')!, sim.url)
  const stranger = await new PatientBrowser().get(loginUrl)
  t.equal(stranger.status, 400)
  t.match(await stranger.text(), /expired or was opened in another browser/)
})
