import t from 'tap'
import { fetch } from 'undici'
import { connect } from './oauth-client.js'
import { startForTest } from './start.js'

const post = (url: string, body?: unknown) => fetch(url, {
  method: 'POST',
  ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
})

t.test('quirks and faults over HTTP: read, change, validated', async (t) => {
  const sim = await startForTest(t)
  const quirks = await (await fetch(`${sim.url}/_sim/quirks`)).json() as Record<string, unknown>
  t.same(
    quirks,
    {
      aliasHostLinks: true,
      rejectCount: true,
      legacyContentType: true,
      affinityCookies: true,
      rateLimitPerMinute: 250,
      hollowGoalSearch: false,
      unknownHostLinks: false
    }
  )
  const changed = await post(`${sim.url}/_sim/quirks`, { rateLimitPerMinute: null, rejectCount: false })
  t.equal(changed.status, 200)
  t.same(sim.quirks, { ...quirks, rateLimitPerMinute: null, rejectCount: false }, 'the live object changed')
  t.equal((await post(`${sim.url}/_sim/quirks`, { noSuchQuirk: true })).status, 400)
  t.equal((await post(`${sim.url}/_sim/faults`, { latencyMs: 'slow' })).status, 400)
  t.throws(() => sim.setFaults({ errorRate: 'high' as unknown as number }), TypeError)
  t.equal((await post(`${sim.url}/_sim/faults`, { errorRate: 0.25 })).status, 200)
  t.equal(sim.faults.errorRate, 0.25)
})

t.test('counters over HTTP and in code, and their reset', async (t) => {
  const sim = await startForTest(t)
  const practice = sim.practices[0]
  await connect(sim, practice, 'confidential')
  const expected = { token: { 'authorization_code:ok': 1 }, authorize: { [practice.id]: 1 }, fhir: {}, rateLimited: 0, refreshTokenReuse: 0 }
  t.same(await (await fetch(`${sim.url}/_sim/counters`)).json(), expected)
  t.match(sim.counters(), expected)
  t.equal((await post(`${sim.url}/_sim/counters/reset`)).status, 204)
  t.same(sim.counters().token, {})
  const info = await (await fetch(`${sim.url}/_sim/info`)).json() as { practices: unknown[]; clients: unknown }
  t.same(info.practices, sim.practices)
  t.same(info.clients, sim.clients)
})
