import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { LEASE_HOLDER_LOCK_NAMESPACE } from '../lib/store/postgres.js'
import { connectionStates, expireAllAccessTokens, readPatient, startFleet, stormOrder, until, untilAsync } from './helpers/fleet.js'

// A killed instance's refresh leases end with it (its session's advisory lock is gone), not after
// REFRESH_LEASE_SECONDS (the default 45 here): the survivor takes its connections over at once.
const TAKEOVER_WITHIN_MS = 2000
t.setTimeout(120_000)

t.test('SIGKILL of one instance in a refresh storm: the other finishes the work within 2 s, no connection is lost', async (t) => {
  const fleet = await startFleet(t, { env: { TOKEN_REQUEST_TIMEOUT_MS: '2000' } })
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
  const read = async ({ connection, instance }: { connection: number, instance: number }) =>
    await readPatient(fleet.instances[instance], connections[connection]).catch(() => 'dropped' as const)
  // The first round alone, each connection asked for on one instance, until every refresh is under
  // its lease: then each instance leads the refreshes of its half, whichever one the machine favours.
  const answers = storm.slice(0, connections.length).map(read)
  await untilAsync(async () => Number((await fleet.db.query<{ n: string }>('SELECT count(*) AS n FROM refresh_leases')).rows[0].n) === connections.length)
  answers.push(...storm.slice(connections.length).map(read))
  await until(() => (fleet.sim.counters().token['refresh_token:token_down'] ?? 0) >= connections.length)
  const leases = (await fleet.db.query<{ connection_id: string, owner: string, expires_at: string, holder_lock: number | null }>('SELECT connection_id, owner, expires_at, holder_lock FROM refresh_leases')).rows
  await victim.stop('SIGKILL')
  const killedAt = Date.now()
  // What the victim sent before it died may still be unread in the simulator's sockets when its
  // exit is reported: let the simulator take it in, still down, before the fault is lifted.
  await sleep(100)
  t.equal(new Set(leases.map((lease) => lease.owner)).size, 2, 'both instances held refresh leases when the victim was killed')
  t.ok(leases.every((lease) => Number(lease.expires_at) > killedAt + 30_000), 'the leases would have run for half a minute more')
  t.equal(new Set(leases.map((lease) => lease.holder_lock)).size, 2, "each names its holder's session lock")
  fleet.sim.setFaults({ tokenDown: false })
  // The victim's leases are those whose holder's session lock died with it.
  const liveLocks = new Set((await fleet.db.query<{ objid: number }>("SELECT objid::integer AS objid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1", [LEASE_HOLDER_LOCK_NAMESPACE])).rows.map((r) => r.objid))
  const victims = new Set(leases
    .filter((lease) => !liveLocks.has(lease.holder_lock!))
    .map((lease) => lease.connection_id))
  t.ok(victims.size > 0, `the victim held ${victims.size} leases`)
  // A patient of each of the victim's connections reads through the survivor now.
  const afterKill = await Promise.all(connections.filter((c) => victims.has(c.connectionId)).map(async (connection) => {
    const status = await readPatient(survivor, connection)
    return { status, ms: Date.now() - killedAt }
  }))
  t.same(afterKill.filter((read) => read.status !== 200), [], "every connection of the victim's reads through the survivor")
  const tookMs = Math.max(...afterKill.map((read) => read.ms))
  t.ok(tookMs <= TAKEOVER_WITHIN_MS, `refreshed and read within ${TAKEOVER_WITHIN_MS} ms of the SIGKILL (${tookMs} ms), not after the victim's leases run out`)

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
