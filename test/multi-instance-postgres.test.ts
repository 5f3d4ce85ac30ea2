import t from 'tap'
import { bearer, finishAtCallback, loginAtHealow, type Stack } from './helpers/connect.js'
import type { GatewayProcess } from './helpers/gateway-process.js'
import { connectionStates, expireAllAccessTokens, readPatient, startFleet, stormOrder } from './helpers/fleet.js'
import { handoffFromPage } from '../lib/pages/connect-result.js'

t.test('OAuth started on one instance finishes on the other; the handoff is claimed on either', async (t) => {
  const fleet = await startFleet(t)
  const [a, b] = fleet.instances
  const stack = { sim: fleet.sim, gw: { url: a.url }, mode: 'confidential' } as Stack
  const { browser, callbackUrl } = await loginAtHealow(stack)
  const onB = new URL(callbackUrl)
  onB.port = new URL(b.url).port
  const page = await finishAtCallback(browser, onB)
  const handoff = handoffFromPage(page.html)
  t.equal(page.status, 200, 'the callback is accepted by the instance that did not start the flow')
  const claim = async (instance: GatewayProcess) => await fetch(`${instance.url}/connections/claim`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff })
  })
  const [first, second] = [await claim(a), await claim(b)]
  t.equal(first.status, 201, 'claimed on the first instance')
  t.equal(second.status >= 400 && second.status < 500, true, 'the same handoff is spent for the other instance too')
  const { key, connection } = await first.json() as { key: string, connection: { id: string } }
  const practice = fleet.sim.practices[0]
  const res = await fetch(`${b.url}/fhir/${connection.id}/Patient/${practice.patientId}`, { headers: bearer(key) })
  t.equal(res.status, 200, 'the key works on the other instance')
})

t.test('300 concurrent requests over two instances on expiring tokens: one refresh per connection, none failed', async (t) => {
  const fleet = await startFleet(t)
  const connections = await fleet.connect(10)
  await expireAllAccessTokens(fleet)
  fleet.sim.resetCounters()
  // A slow token endpoint keeps every refresh open while the rest of the storm arrives.
  fleet.sim.setFaults({ tokenLatencyMs: 300 })
  const statuses = await Promise.all(stormOrder(300, connections.length, 2).map(async ({ connection, instance }) =>
    await readPatient(fleet.instances[instance], connections[connection])))
  t.same(statuses.filter((s) => s !== 200), [], 'every request answered 200')
  t.same(fleet.sim.counters().token, { 'refresh_token:ok': connections.length }, 'the simulator saw one refresh per connection and no reuse')
  t.same(await connectionStates(fleet), connections.map(() => ({ status: 'active', token_version: 2 })), 'each connection refreshed exactly once')
})

t.test("two instances together stay under Healow's 250 a minute for a practice: the simulator never answers 429", async (t) => {
  const fleet = await startFleet(t)
  const practice = fleet.sim.practices[0]
  const connections = (await fleet.connect(fleet.sim.practices.length * 2))
    .filter((c) => c.patientId === practice.patientId)
  const before = fleet.sim.counters()
  // 400 requests for one practice, spread over both instances: more than Healow allows in a minute.
  const statuses = await Promise.all(stormOrder(400, connections.length, 2).map(async ({ connection, instance }) =>
    await readPatient(fleet.instances[instance], connections[connection])))
  const after = fleet.sim.counters()
  t.equal(after.rateLimited, before.rateLimited, 'the simulator answered no 429')
  t.equal(statuses.filter((s) => s === 200).length, 240, "together the instances sent exactly the gateway's share (250 less 4% kept for logins)")
  t.equal(statuses.filter((s) => s === 429).length, 160, 'the rest were refused by the gateway itself, with Retry-After')
  t.equal((after.fhir[practice.id] ?? 0) - (before.fhir[practice.id] ?? 0), 240, 'and never reached Healow')
})
