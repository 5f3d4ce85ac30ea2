import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { SlidingWindowBudget } from '../../../lib/budget/sliding-window.js'
import { MereCompat, mereCompatDeps, type MereCompatDeps } from '../../../lib/mere/compat.js'
import { startStack } from '../../helpers/connect.js'
import { MereWeb } from '../../helpers/mere-web.js'
import { shiftDate } from '../../helpers/shifted-date.js'

t.test("Mere web's token endpoints, called as the gateway's own plugin calls them", async (t) => {
  const stack = await startStack(t, { mode: 'confidential', env: { LOG_LEVEL: 'warn' } })
  const { app } = stack.gw
  const mere = new MereWeb(stack)
  const practice = stack.sim.practices[0]
  const deps = mereCompatDeps(app)
  const compat = (config: Partial<MereCompatDeps['config']> = {}, more: Partial<MereCompatDeps> = {}) =>
    new MereCompat({ ...deps, ...more, config: { ...app.config, ...config } })
  const plain = compat()
  const handles = compat({ MERE_VAULT_HANDLES: true })
  const exchangeInput = async () => {
    const { code, codeVerifier } = await mere.authorize(practice.id)
    return { code, code_verifier: codeVerifier, redirect_uri: mere.redirectUri, tenant_id: practice.id }
  }
  const mereError = (status: number, error: string, description: string | RegExp) =>
    ({ status, body: { error, error_description: description } })

  t.test('refused before Healow is asked: a public client, a practice the directory does not have', async (t) => {
    stack.sim.resetCounters()
    const notConfigured = mereError(400, 'server_configuration_error',
      'This gateway has no HEALOW_CLIENT_SECRET: it runs as a public client, which cannot use this endpoint')
    const input = { code: 'c', code_verifier: 'v'.repeat(43), redirect_uri: mere.redirectUri, tenant_id: practice.id }
    t.same(await compat({ mode: 'public' }).exchange(input), notConfigured)
    t.same(await compat({ mode: 'public' }).refresh({ refresh_token: 'r', tenant_id: practice.id }), notConfigured)
    for (const tenant of [`${practice.id}x`, `x${practice.id}`, 'X'.repeat(100)]) {
      const unknown = mereError(400, 'invalid_tenant', `Unknown practice "${tenant.slice(0, 64)}"`)
      t.same(await plain.exchange({ ...input, tenant_id: tenant }), unknown, tenant)
      t.same(await handles.refresh({ refresh_token: 'r', tenant_id: tenant }), unknown, tenant)
    }
    t.same(stack.sim.counters().token, {}, 'Healow saw none of them')
  })

  t.test("without handles, Healow's answer is passed back as it is", async (t) => {
    const input = await exchangeInput()
    const first = await plain.exchange(input)
    t.equal(first.status, 200)
    t.match(first.body, { access_token: String, refresh_token: String, patient: practice.patientId })
    t.notMatch(String(first.body.access_token), /^hs/, "Healow's own token")
    const healowRefresh = { refresh_token: first.body.refresh_token as string, tenant_id: practice.id }
    const refreshed = await handles.refresh(healowRefresh)
    t.equal(refreshed.status, 200, 'a Healow refresh token goes to Healow even when handles are on')
    t.not(refreshed.body.refresh_token, first.body.refresh_token)
    t.match(await plain.exchange(input), { status: 400, body: { error: 'invalid_grant' } }, "Healow's own refusal of a spent code")
  })

  t.test('with handles, the tokens stay in the vault and the browser gets handles that only resolve as what they are', async (t) => {
    const input = await exchangeInput()
    const answer = await handles.exchange(input)
    t.equal(answer.status, 200)
    t.match(await handles.exchange(input), { status: 400, body: { error: 'invalid_grant' } }, "a refusal of Healow's is passed back, handles or not")
    const body = answer.body as Record<string, string | number>
    t.match(body, { token_type: 'Bearer', access_token: /^hsa\.[0-9a-f-]{36}\.hsk_/, refresh_token: /^hsr\.[0-9a-f-]{36}\.hsk_/, id_token: String, patient: practice.patientId, scope: /patient\// })
    t.ok(Number(body.expires_in) > 3000 && Number(body.expires_in) <= 3600, `expires_in ${body.expires_in}`)
    const [, connectionId, key] = String(body.access_token).split('.')
    t.equal(body.refresh_token, `hsr.${connectionId}.${key}`)
    const stored = (await app.vault.read(connectionId))!
    t.equal(stored.practiceId, practice.id)
    t.notOk(JSON.stringify(body).includes(stored.tokens.accessToken), 'no Healow token in the answer')
    t.notOk(JSON.stringify(body).includes(stored.tokens.refreshToken!))
    t.match(await handles.resolveHandle(String(body.access_token), 'hsa'), { connectionId, key, connection: { id: connectionId } })
    t.match(await handles.resolveHandle(String(body.refresh_token), 'hsr'), { connectionId })
    const otherKey = `hsk_${'A'.repeat(43)}`
    for (const [what, handle, kind] of [
      ['an access handle as a refresh handle', body.access_token, 'hsr'],
      ['a refresh handle as an access handle', body.refresh_token, 'hsa'],
      ['another key', `hsa.${connectionId}.${otherKey}`, 'hsa'],
      ['a longer key', `${String(body.access_token)}x`, 'hsa'],
      ['a prefix before it', `x${String(body.access_token)}`, 'hsa'],
      ['a shorter key', String(body.access_token).slice(0, -1), 'hsa'],
      ['another prefix', String(body.access_token).replace(/^hsa/, 'hsx'), 'hsa'],
      ['no key', `hsa.${connectionId}.`, 'hsa']
    ] as const) t.equal(await handles.resolveHandle(String(handle), kind), null, what)

    stack.sim.resetCounters()
    const asHealowToken = await plain.refresh({ refresh_token: String(body.refresh_token), tenant_id: practice.id })
    t.match(asHealowToken, { status: 400, body: { error: 'invalid_grant' } }, 'without handles, a handle is just a token Healow does not know')
    t.same(stack.sim.counters().token, { 'refresh_token:invalid_grant': 1 })
    const refreshed = await handles.refresh({ refresh_token: String(body.refresh_token), tenant_id: practice.id })
    t.equal(refreshed.status, 200)
    t.same({ ...refreshed.body, expires_in: 0 }, { ...body, expires_in: 0 }, 'the same handles, scope, id_token and patient')
    t.ok(Number.isInteger(refreshed.body.expires_in) && Number(refreshed.body.expires_in) > 3000, 'whole seconds left on the real token')
    t.same(await handles.refresh({ refresh_token: `hsr.${connectionId}.${otherKey}`, tenant_id: practice.id }),
      mereError(400, 'invalid_grant', 'Unknown or revoked refresh handle'))

    stack.sim.setFaults({ invalidGrantOnNextRefresh: true })
    await app.tokens.refresh(connectionId).catch(() => {})
    const dead = await handles.refresh({ refresh_token: String(body.refresh_token), tenant_id: practice.id })
    t.match(dead, mereError(400, 'invalid_grant', /log in at Healow again/), 'a connection that needs a new login says so')
  })

  t.test('what Healow answers without tokens is not handed out', async (t) => {
    const site = { id: practice.id, fhirBase: practice.fhirBase }
    const noToken = mereError(502, 'invalid_token_response', 'Healow answered the code exchange without an access token')
    for (const body of [null, 'x', [], {}, { access_token: 1 }, { access_token: null }]) t.same(await handles.handOut(site, body), noToken, JSON.stringify(body))
    t.same(await handles.handOut(site, { access_token: 'a' }),
      mereError(502, 'invalid_token_response', 'Healow did not say which patient logged in (no patient, no fhirUser)'))
    const bare = await handles.handOut(site, { access_token: 'a', patient: 'p9', expires_in: 60, scope: 1, id_token: 2 })
    t.same(Object.keys(bare.body).sort(), ['access_token', 'expires_in', 'patient', 'refresh_token', 'token_type'], 'no scope or id_token that is not a string')
    t.equal(bare.body.expires_in, 60)
    const full = await handles.handOut(site, { access_token: 'a', patient: 'p9', scope: 'launch/patient' })
    t.match(full.body, { patient: 'p9', scope: 'launch/patient', expires_in: 3600 })
  })

  t.test('Healow unavailable or slow: a 502 that says so, and the call runs on', async (t) => {
    stack.sim.setFaults({ tokenDown: true })
    t.match(await plain.exchange(await exchangeInput().finally(() => stack.sim.setFaults({ tokenDown: true }))),
      mereError(502, 'upstream_unavailable', /^Healow's token endpoint is unavailable: ./))
    stack.sim.setFaults({ tokenDown: false, tokenLatencyMs: 400 })
    const input = await exchangeInput()
    const before = stack.sim.counters().token['authorization_code:ok'] ?? 0
    t.same(await compat({ TOKEN_REQUEST_TIMEOUT_MS: 50 }).exchange(input),
      mereError(502, 'upstream_unavailable', "Healow's token endpoint is unavailable: no answer yet; send the same request again shortly to receive it"))
    // The exchange runs on after the answer; it must land before the next test counts Healow's calls.
    for (let i = 0; i < 100 && (stack.sim.counters().token['authorization_code:ok'] ?? 0) === before; i++) await sleep(50)
    t.equal(stack.sim.counters().token['authorization_code:ok'], before + 1, 'and Healow answers the call in the end')
    stack.sim.setFaults({ tokenLatencyMs: 0 })
  })

  t.test('two tabs with one refresh token share one call, and a call the budget stopped may be sent again', async (t) => {
    const tokens = (await plain.exchange(await exchangeInput())).body
    stack.sim.resetCounters()
    const refresh = { refresh_token: tokens.refresh_token as string, tenant_id: practice.id }
    const [a, b] = await Promise.all([plain.refresh(refresh), plain.refresh(refresh)])
    t.equal(a.status, 200)
    t.same(b, a)
    t.same(await plain.refresh(refresh), a, 'a tab a moment later gets the same answer')
    t.same(stack.sim.counters().token, { 'refresh_token:ok': 1 }, 'one call to Healow')

    let now = 0
    const budget = new SlidingWindowBudget({ limit: 1, maxWaitMs: 0, now: () => now })
    await budget.take(practice.id)
    const starved = compat({}, { requestBudget: budget })
    const next = { refresh_token: a.body.refresh_token as string, tenant_id: practice.id }
    t.same(await starved.refresh(next), mereError(502, 'upstream_unavailable',
      "Healow's token endpoint is unavailable: the practice's request budget is spent; retry in a minute"))
    t.same(stack.sim.counters().token, { 'refresh_token:ok': 1 }, 'nothing sent')
    now = 60_000
    const sent = await starved.refresh(next)
    t.equal(sent.status, 200, 'sent once the budget allows')
    t.same(stack.sim.counters().token, { 'refresh_token:ok': 2 })

    let broken = true
    const flaky = compat({}, { requestBudget: { take: async (id: string) => { if (broken) throw new Error('budget store down'); return await budget.take(id) } } })
    const last = { refresh_token: sent.body.refresh_token as string, tenant_id: practice.id }
    await t.rejects(flaky.refresh(last), { message: 'budget store down' })
    broken = false
    now = 120_000
    t.equal((await flaky.refresh(last)).status, 200, 'a call that failed before Healow is not kept as the answer')

    // A minute later the shared answer is gone: the spent token goes to Healow, which refuses it.
    const restore = shiftDate(() => 61_000)
    t.teardown(restore)
    stack.sim.resetCounters()
    now = 240_000
    t.match(await flaky.refresh(last), { status: 400, body: { error: 'invalid_grant' } })
    t.same(stack.sim.counters().token, { 'refresh_token:invalid_grant': 1 })
    restore()
  })
})
