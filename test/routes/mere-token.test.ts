import t from 'tap'
import { startStack } from '../helpers/connect.js'
import { MereWeb } from '../helpers/mere-web.js'

t.test('confidential: code exchange and refresh pass Healow\'s answer through with the secret added', async (t) => {
  const stack = await startStack(t, { mode: 'confidential' })
  const mere = new MereWeb(stack)
  const tenant = stack.sim.practices[0].id
  const { code, codeVerifier } = await mere.authorize(tenant)
  const exchanged = await mere.exchange(tenant, code, codeVerifier)
  t.equal(exchanged.status, 200)
  t.match(exchanged.body, { token_type: 'Bearer', access_token: String, refresh_token: String, id_token: String, expires_in: Number, patient: stack.sim.practices[0].patientId })

  const first = await mere.refresh(tenant, exchanged.body.refresh_token as string)
  t.equal(first.status, 200)
  t.not(first.body.refresh_token, exchanged.body.refresh_token, 'rotated')
  const second = await mere.refresh(tenant, first.body.refresh_token as string)
  t.equal(second.status, 200)

  // Two tabs refresh at once with the same single-use token: one call to Healow, both get the answer.
  stack.sim.resetCounters()
  const [tabA, tabB] = await Promise.all([
    mere.refresh(tenant, second.body.refresh_token as string),
    mere.refresh(tenant, second.body.refresh_token as string)
  ])
  t.equal(tabA.status, 200)
  t.same(tabB, tabA)
  t.same(stack.sim.counters().token, { 'refresh_token:ok': 1 })
  const late = await mere.refresh(tenant, second.body.refresh_token as string)
  t.same(late, tabA, 'a tab arriving a moment later gets the same answer, not a dead connection')
  const next = await mere.refresh(tenant, tabA.body.refresh_token as string)
  t.equal(next.status, 200, 'the connection is alive')
})

t.test('errors of Mere\'s shape', async (t) => {
  const stack = await startStack(t, { mode: 'confidential' })
  const mere = new MereWeb(stack)
  const unknown = await mere.exchange('NOPE42', 'c', 'v'.repeat(43))
  t.match(unknown, { status: 400, body: { error: 'invalid_tenant' } })
  const bad = await fetch(`${stack.gw.url}/api/v1/healow/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"code":"x"}' })
  t.equal(bad.status, 400)
  t.match(await bad.json(), { message: /body must have required property/ })
  t.match(await mere.refresh(stack.sim.practices[0].id, 'not-a-token'), { status: 400, body: { error: 'invalid_grant' } })
  const tenant = stack.sim.practices[0].id
  const { code, codeVerifier } = await mere.authorize(tenant)
  t.equal((await mere.exchange(tenant, code, codeVerifier)).status, 200)
  // (Healow, like oidc-provider, may also revoke what the first use of a replayed code issued.)
  t.match(await mere.exchange(tenant, code, codeVerifier), { status: 400, body: { error: 'invalid_grant' } }, "Healow's own status for a spent code")
  stack.sim.setFaults({ tokenDown: true })
  t.match(await mere.refresh(stack.sim.practices[0].id, 'whatever'), { status: 502, body: { error: 'upstream_unavailable' } })
})

t.test('public mode: the token endpoints say the server is not configured for them', async (t) => {
  const stack = await startStack(t, { mode: 'public' })
  const mere = new MereWeb(stack)
  t.match(await mere.exchange(stack.sim.practices[0].id, 'c', 'v'.repeat(43)), { status: 400, body: { error: 'server_configuration_error' } })
  t.match(await mere.refresh(stack.sim.practices[0].id, 'r'), { status: 400, body: { error: 'server_configuration_error' } })
})

t.test('vault handles: Mere gets opaque handles; Healow\'s tokens stay in the vault', async (t) => {
  const stack = await startStack(t, { mode: 'confidential', env: { MERE_VAULT_HANDLES: 'true' } })
  const mere = new MereWeb(stack)
  const tenant = stack.sim.practices[0].id
  const { code, codeVerifier } = await mere.authorize(tenant)
  const exchanged = await mere.exchange(tenant, code, codeVerifier)
  t.equal(exchanged.status, 200)
  t.match(exchanged.body, { access_token: /^hsa\.[0-9a-f-]{36}\.hsk_/, refresh_token: /^hsr\.[0-9a-f-]{36}\.hsk_/, id_token: String, patient: stack.sim.practices[0].patientId })
  const connectionId = (exchanged.body.access_token as string).split('.')[1]
  const stored = (await stack.gw.app.vault.read(connectionId))!.tokens
  t.not(stored.accessToken, exchanged.body.access_token)

  const refreshed = await mere.refresh(tenant, exchanged.body.refresh_token as string)
  t.equal(refreshed.status, 200)
  t.same(refreshed.body.refresh_token, exchanged.body.refresh_token, 'handles are stable')
  for (const secret of [stored.accessToken, stored.refreshToken!]) {
    t.notOk(JSON.stringify([exchanged.body, refreshed.body]).includes(secret), 'no Healow token in a response')
  }
  t.match(await mere.refresh(tenant, `hsr.${connectionId}.hsk_${'x'.repeat(43)}`), { status: 400, body: { error: 'invalid_grant' } })
})
