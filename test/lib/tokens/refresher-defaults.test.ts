import t from 'tap'
import { ReauthRequiredError } from '../../../lib/errors.js'
import { refresherOn, rejection, rotated } from '../../helpers/refresher.js'

// The refresher as the gateway builds it when an option is left out, and answers Healow should not give.

t.test('without retry delays of its own: Healow-paced waits of 300 ms and 1.5 s', async (t) => {
  const s = await refresherOn(t, { options: { retryDelaysMs: undefined } })
  s.healow.script({ status: 503 }, { status: 503 }, { status: 503 })
  const started = Date.now()
  await s.refresher.refresh(s.id)
  t.equal(s.healow.requests.length, 3)
  t.ok(Date.now() - started >= 1_790, 'waited 300 ms, then 1500 ms')
})

t.test('without a budget to take from, the token call still goes', async (t) => {
  const s = await refresherOn(t, { options: { beforeTokenCall: undefined } })
  s.healow.script(rotated(2))
  t.equal((await s.refresher.refresh(s.id)).tokens.accessToken, 'access-2')
})

t.test('a connection that needs a new login is refused even while its old token looks fresh', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() + 3_600_000 } })
  await s.vault.markReauthRequired(s.id, 'revoked')
  const record = (await s.vault.record(s.id))!
  for (const options of [{}, { record }]) {
    t.ok(await rejection(s.refresher.accessToken(s.id, options)) instanceof ReauthRequiredError)
  }
  t.equal(s.healow.requests.length, 0)
})

t.test('a scope that is not text is not stored; the one granted at login stays', async (t) => {
  const s = await refresherOn(t)
  s.healow.script(rotated(2, { scope: ['patient/*.read'] }))
  await s.refresher.refresh(s.id)
  t.equal((await s.vault.read(s.id))!.scope, 'openid fhirUser offline_access patient/*.read')
})

t.test('what the operator reads in the log names the connection', async (t) => {
  let answer = () => {}
  const slow = await refresherOn(t, { options: { callerWaitMs: 30 } })
  slow.healow.script({ ...rotated(2), after: new Promise<void>((resolve) => { answer = resolve }) })
  await slow.refresher.refresh(slow.id)
  t.match(slow.logs, [{ level: 'warn', details: { connectionId: slow.id }, message: /^token endpoint is slow/ }])
  const c = (await slow.vault.read(slow.id))!
  t.ok(await slow.vault.saveRefreshed(slow.id, c.tokenVersion, c.tokens, c.accessExpiresAt, undefined))
  answer()
  await slow.refresher.settle()
  t.match(slow.logs.filter((l) => l.level === 'error'), [{ details: { connectionId: slow.id }, message: /^refresh result could not be saved/ }])
})
