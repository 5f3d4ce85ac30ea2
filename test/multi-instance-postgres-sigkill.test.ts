import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectionStates, expireAllAccessTokens, readPatient, startFleet, stormOrder, until } from './helpers/fleet.js'

// The killed instance's refresh leases must lapse before the survivor may take them over: 14 s
// here rather than the default 45, the shortest lease the configuration accepts for 2 s token calls.
const LEASE_SECONDS = 14
t.setTimeout(120_000)

t.test('SIGKILL of one instance in a refresh storm: the other finishes the work, no connection is lost', async (t) => {
  const fleet = await startFleet(t, { env: { REFRESH_LEASE_SECONDS: String(LEASE_SECONDS), TOKEN_REQUEST_TIMEOUT_MS: '2000' } })
  const [survivor, victim] = fleet.instances
  const connections = await fleet.connect(10)
  await expireAllAccessTokens(fleet)
  fleet.sim.resetCounters()
  // Healow's token endpoint answers 503 as the storm begins, so every refresh sits under its
  // lease between retries, with no refresh token spent yet: the moment a crash must not cost a
  // connection. (A crash after Healow rotated a token but before it was saved loses that
  // connection whatever the design: Healow's refresh tokens are single use.)
  fleet.sim.setFaults({ tokenDown: true })
  const storm = stormOrder(300, connections.length, 2)
  const answers = storm.map(async ({ connection, instance }) =>
    await readPatient(fleet.instances[instance], connections[connection]).catch(() => 'dropped' as const))
  await until(() => (fleet.sim.counters().token['refresh_token:token_down'] ?? 0) >= connections.length)
  const leases = (await fleet.db.query<{ owner: string, expires_at: string }>('SELECT owner, expires_at FROM refresh_leases')).rows
  await victim.stop('SIGKILL')
  // What the victim sent before it died may still be unread in the simulator's sockets when its
  // exit is reported: let the simulator take it in, still down, before the fault is lifted.
  await sleep(100)
  t.equal(new Set(leases.map((lease) => lease.owner)).size, 2, 'both instances held refresh leases when the victim was killed')
  t.ok(leases.every((lease) => Number(lease.expires_at) <= Date.now() + LEASE_SECONDS * 1000), 'the leases run for REFRESH_LEASE_SECONDS, not the default')
  fleet.sim.setFaults({ tokenDown: false })

  const results = await Promise.all(answers)
  const onSurvivor = results.filter((_, i) => storm[i].instance === 0)
  t.same(onSurvivor.filter((status) => status !== 200), [], "every request on the survivor answered 200, also those waiting on the victim's leases")
  t.ok(results.some((status, i) => storm[i].instance === 1 && status === 'dropped'), 'the victim died with requests in flight')
  // What a load balancer does with the victim's dropped requests: send them to the survivor.
  const retried = await Promise.all(storm.filter((_, i) => results[i] === 'dropped')
    .map(async ({ connection }) => await readPatient(survivor, connections[connection])))
  t.same(retried.filter((status) => status !== 200), [], 'retried on the survivor, every dropped request succeeds')

  t.same(await connectionStates(fleet), connections.map(() => ({ status: 'active', token_version: 2 })), 'no connection needs a new login; each refreshed once')
  t.equal(fleet.sim.counters().token['refresh_token:ok'], connections.length, 'one successful refresh per connection')
  t.notOk(fleet.sim.counters().token['refresh_token:invalid_grant'], 'no refresh token was used twice')
})
