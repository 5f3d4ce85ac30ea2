import t from 'tap'
import { request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { fetch } from 'undici'
import { connect, fhirGet, tokenRequest } from './oauth-client.js'
import { startForTest } from './start.js'

const timed = async <T>(action: () => Promise<T>) => {
  const start = performance.now()
  const result = await action()
  return { result, ms: performance.now() - start }
}

t.test('latency on FHIR and on the token endpoint', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'confidential')
  sim.setFaults({ latencyMs: 300 })
  const read = await timed(() => fhirGet(`${practice.fhirBase}/Patient/${practice.patientId}`, tokens.access_token))
  t.equal(read.result.status, 200)
  t.ok(read.ms >= 290, `FHIR answered after ${read.ms} ms`)
  sim.setFaults({ latencyMs: 0, tokenLatencyMs: 300 })
  const refresh = await timed(() => tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))
  t.equal(refresh.result.status, 200)
  t.ok(refresh.ms >= 290, `token endpoint answered after ${refresh.ms} ms`)
})

t.test('error rate: 500 and 503 on that share of FHIR requests', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'public')
  sim.setFaults({ errorRate: 0.5 })
  const statuses = new Set<number>()
  for (let i = 0; i < 30; i++) {
    const response = await fhirGet(`${practice.fhirBase}/Patient/${practice.patientId}`, tokens.access_token)
    statuses.add(response.status)
    if (response.status !== 200) t.equal(response.body.resourceType, 'OperationOutcome')
  }
  t.same([...statuses].sort(), [200, 500, 503])
  sim.setFaults({ errorRate: 1 })
  t.match((await fhirGet(`${practice.fhirBase}/metadata`)).status, /^50[03]$/)
})

t.test('connection reset in the middle of a body', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'public')
  sim.setFaults({ resetMidBody: true })
  const response = await fetch(`${practice.fhirBase}/Observation?patient=${practice.patientId}`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(response.status, 200, 'headers arrive')
  await t.rejects(response.text(), 'the body breaks off')
  sim.setFaults({ resetMidBody: false })
  t.equal((await fhirGet(`${practice.fhirBase}/Observation?patient=${practice.patientId}`, tokens.access_token)).status, 200)
})

t.test('token endpoint down', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'confidential')
  sim.setFaults({ tokenDown: true })
  const response = await fetch(sim.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }) })
  t.equal(response.status, 503)
  t.match(await response.text(), /Service Unavailable/)
  t.equal(sim.counters().token['refresh_token:token_down'], 1)
  // Down is decided when a request arrives: one whose body comes after the fault is lifted is still refused.
  const late = request(sim.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  late.flushHeaders()
  await sleep(100)
  sim.setFaults({ tokenDown: false })
  const lateStatus = new Promise((resolve) => late.on('response', (res) => { res.resume(); resolve(res.statusCode) }))
  late.end(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).toString())
  t.equal(await lateStatus, 503, 'arrived while down, body after: still 503')
  t.equal(sim.counters().token['refresh_token:token_down'], 2)
  t.equal((await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).status, 200, 'back up')
})

t.test('invalid_grant on the next refresh only', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'confidential')
  sim.setFaults({ invalidGrantOnNextRefresh: true })
  const refused = await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
  t.equal(refused.status, 400)
  t.equal(refused.body.error, 'invalid_grant')
  t.equal(sim.faults.invalidGrantOnNextRefresh, false, 'the fault clears itself')
  t.equal((await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).status, 200)
})

t.test('force-expired access tokens: one, or all', async (t) => {
  const sim = await startForTest(t)
  const [first, second] = sim.practices
  const a = (await connect(sim, first, 'public')).body.access_token
  const b = (await connect(sim, second, 'public')).body.access_token
  const readA = () => fhirGet(`${first.fhirBase}/Patient/${first.patientId}`, a)
  const readB = () => fhirGet(`${second.fhirBase}/Patient/${second.patientId}`, b)
  sim.expireAccessTokens(a)
  t.equal((await readA()).status, 401, 'the given token')
  t.equal((await readB()).status, 200, 'not the others')
  const admin = await fetch(`${sim.url}/_sim/expire-tokens`, { method: 'POST' })
  t.equal(admin.status, 204)
  t.equal((await readB()).status, 401, 'every token, over HTTP')
  const fresh = (await connect(sim, second, 'public')).body.access_token
  t.equal((await fhirGet(`${second.fhirBase}/Patient/${second.patientId}`, fresh)).status, 200, 'tokens issued afterwards work')
})

t.test('DocumentReference searches that take their time (one timed out at Healow)', async (t) => {
  const sim = await startForTest(t, { faults: { documentReferenceDelayMs: 400 } })
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'public')
  const timed = async (type: string) => {
    const started = Date.now()
    const res = await fhirGet(`${practice.fhirBase}/${type}?patient=${practice.patientId}`, tokens.access_token)
    return { status: res.status, ms: Date.now() - started }
  }
  const slow = await timed('DocumentReference')
  t.equal(slow.status, 200)
  t.ok(slow.ms >= 400, `DocumentReference took ${slow.ms} ms`)
  const fast = await timed('Observation')
  t.ok(fast.ms < 400, `other searches are not delayed (${fast.ms} ms)`)
})

t.test('token answer cut mid-body: announced whole, half sent, nothing spent at the authorization server', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  const { body: tokens } = await connect(sim, practice, 'confidential')
  sim.setFaults({ tokenCutMidBody: true })
  const response = await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).catch((err: unknown) => err)
  t.ok(response instanceof Error, 'the answer breaks off')
  t.equal(sim.counters().token['refresh_token:cut_mid_body'], 1)
  sim.setFaults({ tokenCutMidBody: false })
  t.equal((await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).status, 200, 'the token was not spent')
  t.equal(sim.counters().refreshTokenReuse, 0)
})

t.test('refreshTokenReuse counts a refresh token shown to the authorization server twice, across counter resets', async (t) => {
  const sim = await startForTest(t)
  const { body: tokens } = await connect(sim, sim.practices[0], 'confidential')
  const refresh = async () => await tokenRequest(sim, 'confidential', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
  t.equal((await refresh()).status, 200)
  sim.resetCounters()
  t.equal((await refresh()).status, 400, 'a spent token is refused')
  t.equal(sim.counters().refreshTokenReuse, 1)
})
