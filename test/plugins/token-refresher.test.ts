import { type Test } from 'tap'
import { ReauthRequiredError } from '../../lib/errors.js'
import { bearer, connectPatient, startStack, type Stack, type StackOptions } from '../helpers/connect.js'
import { testOnEachStore, type StoreUnderTest } from '../helpers/stores.js'

/** Moves a connection's access-token expiry to `inMs` from now, as if time had passed. */
async function expireSoon (t: Test, stack: Stack, connectionId: string, inMs = 1000): Promise<void> {
  const { vault } = stack.gw.app
  const c = (await vault.read(connectionId))!
  t.ok(await vault.saveRefreshed(connectionId, c.tokenVersion, c.tokens, Date.now() + inMs, c.scope))
}

/** A stack whose refresher retries a failing token call after 20 and 50 ms, not Healow-paced waits. */
async function stackOn (
  t: Parameters<typeof startStack>[0],
  under: StoreUnderTest,
  options: StackOptions = {}
): Promise<Stack> {
  return await startStack(t, { store: under, build: { refreshRetryDelaysMs: [20, 50] }, ...options })
}

const refreshes = (stack: Stack) => Object.entries(stack.sim.counters().token)
  .filter(([k]) => k.startsWith('refresh_token:')).reduce((sum, [, n]) => sum + n, 0)

testOnEachStore('a refresh storm: 200 concurrent callers, exactly one refresh, all succeed', async (t, under) => {
  const stack = await stackOn(t, under)
  const { connectionId } = await connectPatient(stack)
  await expireSoon(t, stack, connectionId)
  const before = (await stack.gw.app.vault.read(connectionId))!.tokens
  stack.sim.resetCounters()

  const results = await Promise.allSettled(Array.from(
    { length: 200 },
    () => stack.gw.app.tokens.accessToken(connectionId)
  ))
  t.equal(results.filter((r) => r.status === 'rejected').length, 0, 'no caller failed')
  const tokens = new Set(results.map((r) => (r as PromiseFulfilledResult<string>).value))
  t.equal(tokens.size, 1, 'every caller got the same new token')
  t.not([...tokens][0], before.accessToken)
  t.same(stack.sim.counters().token, { 'refresh_token:ok': 1 }, 'exactly one refresh reached Healow')

  const after = (await stack.gw.app.vault.read(connectionId))!
  t.not(after.tokens.refreshToken, before.refreshToken, 'the rotated refresh token was stored')
  t.ok(after.accessExpiresAt > Date.now() + 3000_000)
  // The stored refresh token is the live one: the simulator rejects reuse of the spent one.
  await stack.gw.app.tokens.refresh(connectionId)
  t.same(stack.sim.counters().token, { 'refresh_token:ok': 2 })
})

testOnEachStore('a fresh token is used as is; a rejected one is refreshed once, even by many callers', async (t, under) => {
  const stack = await stackOn(t, under)
  const { connectionId } = await connectPatient(stack)
  stack.sim.resetCounters()
  const token = await stack.gw.app.tokens.accessToken(connectionId)
  t.equal(refreshes(stack), 0)
  const replaced = await Promise.all(Array.from(
    { length: 20 },
    () => stack.gw.app.tokens.accessToken(connectionId, { rejected: token })
  ))
  t.equal(new Set(replaced).size, 1)
  t.not(replaced[0], token)
  t.equal(refreshes(stack), 1)
  t.equal(await stack.gw.app.tokens.accessToken(connectionId, { rejected: token }), replaced[0], 'a late caller with the old token gets the new one without a refresh')
  t.equal(refreshes(stack), 1)
})

testOnEachStore('invalid_grant turns the connection to reauth_required, with a reconnect link', async (t, under) => {
  const stack = await stackOn(t, under)
  const { connectionId, key } = await connectPatient(stack)
  await expireSoon(t, stack, connectionId, -1000)
  stack.sim.setFaults({ invalidGrantOnNextRefresh: true })
  const err = await stack.gw.app.tokens.accessToken(connectionId).catch((e: unknown) => e)
  t.type(err, ReauthRequiredError)
  const status = await (await fetch(`${stack.gw.url}/connections/${connectionId}`, { headers: bearer(key) })).json() as Record<string, unknown>
  t.match(status, { status: 'reauth_required', lastError: /invalid_grant/, reconnectUrl: `${stack.gw.url}/healow/connect?tenant=${stack.sim.practices[0].id}` })
  const refresh = await fetch(`${stack.gw.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })
  t.equal(refresh.status, 401)
  t.match(await refresh.json(), { code: 'reauth_required', reconnectUrl: /\/healow\/connect\?tenant=/ })
})

testOnEachStore('a token-endpoint outage keeps the connection active; it recovers when Healow is back', async (t, under) => {
  const stack = await stackOn(t, under)
  const { connectionId, key } = await connectPatient(stack)
  await expireSoon(t, stack, connectionId, -1000)
  stack.sim.setFaults({ tokenDown: true })
  const down = await fetch(`${stack.gw.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })
  t.equal(down.status, 503)
  t.ok(Number(down.headers.get('retry-after')) >= 1, 'with Retry-After')
  t.match(await down.json(), { code: 'upstream_unavailable', message: /503/ })
  t.match(await (await fetch(`${stack.gw.url}/connections/${connectionId}`, { headers: bearer(key) })).json(), { status: 'active', lastError: /503/ })

  stack.sim.setFaults({ tokenDown: false })
  const up = await fetch(`${stack.gw.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })
  t.equal(up.status, 200)
  t.match(await up.json(), { status: 'active', lastError: null })
})

testOnEachStore('an outage while the old token still works hands out the old token', async (t, under) => {
  const stack = await stackOn(t, under)
  const { connectionId } = await connectPatient(stack)
  const old = (await stack.gw.app.vault.read(connectionId))!.tokens.accessToken
  await expireSoon(t, stack, connectionId, 60_000)
  stack.sim.setFaults({ tokenDown: true })
  t.equal(await stack.gw.app.tokens.accessToken(connectionId), old)
})

testOnEachStore('public mode: no refresh token, so an expired connection needs a new login', async (t, under) => {
  const stack = await stackOn(t, under, { mode: 'public' })
  const { connectionId } = await connectPatient(stack)
  await expireSoon(t, stack, connectionId, -1000)
  await t.rejects(stack.gw.app.tokens.accessToken(connectionId), { code: 'reauth_required', name: 'Error' })
  t.match(await stack.gw.app.vault.record(connectionId), { status: 'reauth_required', lastError: /public client has no refresh token/ })
  t.equal(refreshes(stack), 0)
})

testOnEachStore('keep-alive refreshes idle connections before their refresh token lapses', async (t, under) => {
  const stack = await stackOn(t, under)
  const a = await connectPatient(stack)
  const b = await connectPatient(stack)
  stack.sim.resetCounters()
  t.equal(await stack.gw.app.tokens.keepAlive(60_000), 0, 'nothing idle for a minute yet')
  t.equal(await stack.gw.app.tokens.keepAlive(-1), 2, 'both refreshed')
  t.equal(refreshes(stack), 2)
  for (const { connectionId } of [a, b]) t.ok((await stack.gw.app.vault.record(connectionId))!.lastRefreshAt)
})
