import { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { openStore } from '../../lib/store/open.js'
import { bearer, connectPatient, startStack, type Connected, type Stack } from '../helpers/connect.js'
import { testOnEachStore, type StoreUnderTest } from '../helpers/stores.js'

// Healow's token endpoint misbehaving in the ways that leave the gateway unsure what Healow did.
// After each: the connection is active, the next refresh and read succeed, and no refresh token
// reached the authorization server twice (its single-use tokens would have cost the login).

const CALLER_WAIT_MS = 1000

async function stackOn (t: Test, under: StoreUnderTest): Promise<Stack> {
  return await startStack(
    t,
    {
      store: under,
      env: { TOKEN_REQUEST_TIMEOUT_MS: String(CALLER_WAIT_MS) },
      build: { refreshRetryDelaysMs: [20, 50] }
    }
  )
}

/** The connection's access token is due (stored expiry in the past), as after an idle hour. */
async function accessTokenDue (t: Test, stack: Stack, connectionId: string): Promise<void> {
  const { vault } = stack.gw.app
  const c = (await vault.read(connectionId))!
  t.ok(await vault.saveRefreshed(connectionId, c.tokenVersion, c.tokens, Date.now() - 1000, c.scope))
}

const status = async (stack: Stack, c: Connected) =>
  await (await fetch(`${stack.gw.url}/connections/${c.connectionId}`, { headers: bearer(c.key) })).json() as { status: string, lastError: string | null }
const refreshNow = async (stack: Stack, c: Connected) =>
  await fetch(`${stack.gw.url}/connections/${c.connectionId}/refresh`, { method: 'POST', headers: bearer(c.key) })
const readPatient = async (stack: Stack, c: Connected) => {
  const patientId = (await status(stack, c) as unknown as { patientId: string }).patientId
  return await fetch(`${stack.gw.url}/fhir/${c.connectionId}/Patient/${patientId}`, { headers: bearer(c.key) })
}
type Outcome = { issue: Array<{ details: { coding: Array<{ code: string }> } }> }
const outcomeCode = (body: unknown) => (body as Outcome).issue[0].details.coding[0].code

/** Afterwards: active, a refresh and a read work, and the authorization server never saw a refresh token twice. */
async function recovered (t: Test, stack: Stack, c: Connected): Promise<void> {
  t.match(await status(stack, c), { status: 'active' }, 'the connection is active')
  const refreshed = await refreshNow(stack, c)
  t.equal(refreshed.status, 200, 'the next refresh succeeds')
  t.match(await refreshed.json(), { status: 'active', lastError: null })
  t.equal((await readPatient(stack, c)).status, 200, 'a FHIR read succeeds')
  t.equal(stack.sim.counters().refreshTokenReuse, 0, 'no refresh token was presented twice')
  t.notOk(stack.sim.counters().token['refresh_token:invalid_grant'], 'Healow never refused a refresh token')
}

testOnEachStore('a token endpoint slower than TOKEN_REQUEST_TIMEOUT_MS: callers are let go, the answer is committed when it arrives', async (t, under) => {
  const stack = await stackOn(t, under)
  const c = await connectPatient(stack)
  await accessTokenDue(t, stack, c.connectionId)
  const before = (await stack.gw.app.vault.read(c.connectionId))!
  stack.sim.resetCounters()
  stack.sim.setFaults({ tokenLatencyMs: CALLER_WAIT_MS * 2 })

  const started = Date.now()
  const slow = await refreshNow(stack, c)
  const waited = Date.now() - started
  t.equal(slow.status, 503, 'the caller is answered while Healow is still working')
  t.ok(Number(slow.headers.get('retry-after')) >= 1, 'with Retry-After')
  t.match(await slow.json(), { code: 'upstream_unavailable', message: /not answered yet/ })
  t.ok(waited < CALLER_WAIT_MS * 2, `after the caller's wait (${waited} ms), not Healow's`)
  const read = await readPatient(stack, c)
  t.equal(read.status, 503, 'a FHIR read meanwhile: 503, not a lost login')
  t.equal(outcomeCode(await read.json()), 'upstream_unavailable')
  t.match(await status(stack, c), { status: 'active' })

  // Healow's answer arrives after the callers gave up: it is what the vault now holds.
  const tokenVersion = async () => (await stack.gw.app.vault.read(c.connectionId))!.tokenVersion
  for (let i = 0; i < 100 && await tokenVersion() === before.tokenVersion; i++) await sleep(50)
  const after = (await stack.gw.app.vault.read(c.connectionId))!
  t.equal(after.tokenVersion, before.tokenVersion + 1, 'the late answer was committed')
  t.not(after.tokens.refreshToken, before.tokens.refreshToken, 'with its rotated refresh token')
  t.same(stack.sim.counters().token, { 'refresh_token:ok': 1 }, 'one call reached Healow: the slow one was not repeated')

  stack.sim.setFaults({ tokenLatencyMs: 0 })
  await recovered(t, stack, c)
})

testOnEachStore('a token answer cut off mid-body: recorded as the last error, never a 500, never retried at once', async (t, under) => {
  const stack = await stackOn(t, under)
  const c = await connectPatient(stack)
  await accessTokenDue(t, stack, c.connectionId)
  stack.sim.resetCounters()
  stack.sim.setFaults({ tokenCutMidBody: true })

  const cut = await refreshNow(stack, c)
  t.equal(cut.status, 503)
  t.match(await cut.json(), { code: 'upstream_unavailable', message: /cut off mid-body/ })
  t.same(stack.sim.counters().token, { 'refresh_token:cut_mid_body': 1 }, 'one call: an answer that may have been acted on is not retried')
  t.match(await status(stack, c), { status: 'active', lastError: /cut off mid-body/ })
  const read = await readPatient(stack, c)
  t.equal(read.status, 503, 'a FHIR read: 503 upstream_unavailable')
  t.equal(outcomeCode(await read.json()), 'upstream_unavailable')

  stack.sim.setFaults({ tokenCutMidBody: false })
  await recovered(t, stack, c)
})

testOnEachStore('token endpoint down while Healow rejects the access token: 503 with Retry-After, not reauth_required', async (t, under) => {
  const stack = await stackOn(t, under)
  const c = await connectPatient(stack)
  t.equal((await readPatient(stack, c)).status, 200)
  // The stored expiry says the token is good; Healow says it is not, and cannot issue another.
  stack.sim.expireAccessTokens()
  stack.sim.setFaults({ tokenDown: true })
  stack.sim.resetCounters()

  const read = await readPatient(stack, c)
  t.equal(read.status, 503)
  t.ok(Number(read.headers.get('retry-after')) >= 1, 'with Retry-After')
  t.equal(outcomeCode(await read.json()), 'upstream_unavailable', 'upstream_unavailable, not reauth_required')
  t.ok((stack.sim.counters().token['refresh_token:token_down'] ?? 0) >= 1, 'the gateway did try to refresh')
  t.match(await status(stack, c), { status: 'active', lastError: /503/ }, '/connections agrees: active, with the reason')

  stack.sim.setFaults({ tokenDown: false })
  t.equal((await readPatient(stack, c)).status, 200, 'the first read after the outage succeeds')
  await recovered(t, stack, c)
})

testOnEachStore('closing the gateway while a slow token call is out waits for its answer and commits it', async (t, under) => {
  const stack = await stackOn(t, under)
  const c = await connectPatient(stack)
  await accessTokenDue(t, stack, c.connectionId)
  const before = (await stack.gw.app.vault.read(c.connectionId))!
  stack.sim.setFaults({ tokenLatencyMs: CALLER_WAIT_MS * 2 })
  t.equal((await refreshNow(stack, c)).status, 503, 'the caller was let go')
  const store = await openStore(stack.gw.config.databaseUrl)
  t.teardown(() => store.close())
  await stack.gw.app.close()
  const row = (await store.connections.get(c.connectionId))!
  t.equal(row.tokenVersion, before.tokenVersion + 1, 'the answer that came during shutdown was saved before the store closed')
  t.equal(row.status, 'active')
})
