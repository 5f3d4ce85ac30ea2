import t from 'tap'
import { connectionStates, expireAllAccessTokens, readPatient, startFleet, stormOrder, until } from './helpers/fleet.js'

// The killed instance's refresh leases must lapse (45 s) before the survivor may take them over.
t.setTimeout(180_000)

t.test('SIGKILL of one instance in a refresh storm: the other finishes the work, no connection is lost', async (t) => {
  const fleet = await startFleet(t)
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
  const holders = await fleet.db.query('SELECT DISTINCT owner FROM refresh_leases')
  await victim.stop('SIGKILL')
  t.equal(holders.rowCount, 2, 'both instances held refresh leases when the victim was killed')
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
