import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectPatient, startStack } from '../helpers/connect.js'
import type { Clock } from '../../lib/sync/clock.js'

const HOUR = 3_600_000

/** A clock the test moves by hand; waits are real (and short). */
function handClock (): Clock & { advance: (ms: number) => void } {
  let offset = 0
  return {
    now: () => Date.now() + offset,
    sleep: async (ms, signal) => { await sleep(ms, undefined, { signal }) },
    advance: (ms) => { offset += ms }
  }
}

t.test('the schedule: a new connection syncs at the next tick, then again one interval (±10%) later, not before; reauth_required stops it', async (t) => {
  const clock = handClock()
  const stack = await startStack(t, {
    simulator: { resourcesPerType: 5 },
    env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn', SYNC_INTERVAL_HOURS: '168' }),
    build: { sync: { clock } }
  })
  const { app } = stack.gw
  const { connectionId, key } = await connectPatient(stack)

  await app.sync.tick()
  t.ok(app.sync.isRunning(connectionId), 'never synced: due at once')
  await app.sync.settled(connectionId)
  const first = await app.sync.status(connectionId)
  t.equal(first.status, 'succeeded')
  const interval = first.nextAt! - first.finishedAt!
  t.ok(interval >= 168 * HOUR * 0.9 && interval <= 168 * HOUR * 1.1, `next in ${(interval / HOUR).toFixed(1)} h`)

  clock.advance(150 * HOUR)
  await app.sync.tick()
  t.notOk(app.sync.isRunning(connectionId), 'not due after 150 h')

  clock.advance(first.nextAt! - clock.now() + 1000)
  await app.sync.tick()
  t.ok(app.sync.isRunning(connectionId), 'due once its time has come')
  await app.sync.settled(connectionId)
  const second = await app.sync.status(connectionId)
  t.not(second.syncId, first.syncId, 'a new run')
  t.equal(second.progress.changed, 0, 'nothing changed upstream')

  await app.vault.markReauthRequired(connectionId, 'invalid_grant')
  clock.advance(200 * HOUR)
  await app.sync.tick()
  t.notOk(app.sync.isRunning(connectionId), 'a connection that needs a new login is not synced')
  const refused = await fetch(`${stack.gw.url}/connections/${connectionId}/sync`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
  t.equal(refused.status, 401, 'nor on demand')
  t.match(await refused.json(), { code: 'reauth_required', reconnectUrl: /\/healow\/connect\?tenant=/ })
})

t.test('SYNC_INTERVAL_HOURS=0: nothing syncs unless asked', async (t) => {
  const clock = handClock()
  const stack = await startStack(t, { env: { LOG_LEVEL: 'warn', SYNC_INTERVAL_HOURS: '0' }, build: { sync: { clock } } })
  const { connectionId, key } = await connectPatient(stack)
  await stack.gw.app.sync.tick()
  t.notOk(stack.gw.app.sync.isRunning(connectionId))
  clock.advance(1000 * HOUR)
  await stack.gw.app.sync.tick()
  t.notOk(stack.gw.app.sync.isRunning(connectionId))
  const asked = await fetch(`${stack.gw.url}/connections/${connectionId}/sync`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
  t.equal(asked.status, 202)
  await stack.gw.app.sync.settled(connectionId)
  t.match(await stack.gw.app.sync.status(connectionId), { nextAt: null })
})

t.test('public mode: a connection syncs while its access token lives; once expired it is refused without spending the connection', async (t) => {
  const clock = handClock()
  const stack = await startStack(t, { mode: 'public', simulator: { resourcesPerType: 5 }, env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn' }), build: { sync: { clock } } })
  const { connectionId, key } = await connectPatient(stack)
  const start = (): Promise<Response> => fetch(`${stack.gw.url}/connections/${connectionId}/sync`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
  t.equal((await start()).status, 202)
  await stack.gw.app.sync.settled(connectionId)
  t.equal((await stack.gw.app.sync.status(connectionId)).status, 'succeeded')
  clock.advance(2 * HOUR)
  const expired = await start()
  t.equal(expired.status, 401)
  t.match(await expired.json(), { code: 'reauth_required', message: /public client/ })
  t.equal((await stack.gw.app.vault.record(connectionId))?.status, 'active', 'the connection itself is untouched')
})
