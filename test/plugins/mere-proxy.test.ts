import t, { type Test } from 'tap'
import { startStack } from '../helpers/connect.js'
import { MereWeb } from '../helpers/mere-web.js'

/** The relay's checks one by one, each refusal with its reason and nothing sent to Healow. */
t.test('the relay in vault-handle mode: who may ask, for which practice, for what', async (t) => {
  const stack = await startStack(t, { mode: 'confidential', env: (sim) => ({ LOG_LEVEL: 'warn', MERE_VAULT_HANDLES: 'true', FHIR_ALIAS_HOSTS: sim.aliasBase }) })
  const mere = new MereWeb(stack)
  const [practice, other] = stack.sim.practices
  const { code, codeVerifier } = await mere.authorize(practice.id)
  const handle = (await mere.exchange(practice.id, code, codeVerifier)).body.access_token as string
  const origin = stack.gw.config.PUBLIC_URL
  const relay = (query: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(`${stack.gw.url}/api/proxy?${query}`, { ...init, headers: { origin, authorization: `Bearer ${handle}`, ...init.headers } })
  const at = (target: string, serviceId = practice.id) => `vendor=healow&serviceId=${serviceId}&target=${encodeURIComponent(target)}`
  const refused = async (t: Test, res: Response, status: number, reason: string | RegExp) => {
    t.equal(res.status, status, String(reason))
    const body = await res.json() as { issue?: Array<{ details?: { text?: string } }> }
    t.match(body.issue?.[0]?.details?.text, reason)
  }
  stack.sim.resetCounters()

  t.test('Origin, or Referer without one, must be PUBLIC_URL exactly', async (t) => {
    const expected = new URL(origin).origin
    const why = `The Healow relay only serves pages on ${expected} (Origin or Referer)`
    const page = (headers: Record<string, string>) =>
      fetch(`${stack.gw.url}/api/proxy?${at('metadata')}`, { headers: { authorization: `Bearer ${handle}`, ...headers } })
    for (const headers of <Array<Record<string, string>>>[{ origin: `${expected}.evil.example` }, { origin: `${expected}0` }, { origin: '' },
      { origin: '', referer: `${expected}/page` }, { referer: `${expected}.evil.example/` }, { referer: '::' }, { referer: `${expected}0/` }]) {
      await refused(t, await page(headers), 403, why)
    }
    t.equal((await page({ origin: expected })).status, 200, 'the exact origin')
    t.equal((await page({ referer: `${expected}/timeline?x=1` })).status, 200, 'or a page on it')
  })

  t.test('a practice this gateway serves, on healow', async (t) => {
    await refused(t, await relay(at('metadata').replace('vendor=healow', 'vendor=healowx')), 404,
      'Vendor "healowx" is not served here; this gateway relays to healow only')
    await refused(t, await relay(at('metadata', `${practice.id}x`)), 404, `Unknown practice "${practice.id}x"`)
    await refused(t, await relay(at(`Patient/${practice.patientId}`, other.id)), 403, 'This access handle belongs to another practice')
    await refused(t, await relay(`vendor=healow&serviceId=${practice.id}`), 400, /^target is required with target_type=base/)
  })

  t.test('a bearer handle, and nothing else', async (t) => {
    const connectionId = handle.split('.')[1]
    const healowToken = (await stack.gw.app.vault.read(connectionId))!.tokens.accessToken
    for (const [authorization, reason] of [
      [undefined, "The relay forwards only requests that carry the patient's Authorization: Bearer token"],
      ['Basic YTpi', 'Authorization must be "Bearer <token>"'],
      ['Bearer ', 'Authorization must be "Bearer <token>"'],
      [`Bearer ${handle} x`, 'Authorization must be "Bearer <token>"'],
      [`bearer ${handle}`, 'Authorization must be "Bearer <token>"'],
      [`Bearer ${'h'.repeat(4097)}`, 'Authorization must be "Bearer <token>"'],
      [`Bearer ${healowToken}`, "This gateway keeps Healow's tokens in its vault: the relay takes only its access handles (hsa.…)"],
      [`Bearer ${handle.replace(/^hsa/, 'hsr')}`, "This gateway keeps Healow's tokens in its vault: the relay takes only its access handles (hsa.…)"],
      [`Bearer ${handle.replace(/hsk_(.)/, (_, c: string) => `hsk_${c === 'A' ? 'B' : 'A'}`)}`, 'Unknown or revoked access handle']
    ] as const) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
      const res = await fetch(`${stack.gw.url}/api/proxy?${at(`Patient/${practice.patientId}`)}`, { headers: { origin, ...headers } })
      await refused(t, res, 401, reason)
    }
  })

  t.test('targets under the practice only', async (t) => {
    stack.sim.resetCounters()
    for (const target of ['Patient#x', '//Patient/1', `//${new URL(practice.fhirBase).host}/Patient`, `${other.fhirBase}/Patient`, 'Patient/../../x', '%2e%2e/x', 'http://[']) {
      await refused(t, await relay(at(target)), 400, 'Not relayed: the target is not a FHIR path under this practice')
    }
    await refused(t, await relay(at('Observation/_search'), { method: 'POST', body: 'x=%zz', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 400,
      'Not relayed: search parameters outside the FHIR search grammar')
    t.same(stack.sim.counters().fhir, {}, 'none reached Healow')
    t.equal((await relay(at(`/Patient/${practice.patientId}`))).status, 200, 'one leading slash is under the base')
    t.equal((await relay(at(`${stack.sim.aliasBase}${new URL(practice.fhirBase).pathname}/Patient/${practice.patientId}`))).status, 200, 'an alias host')
    const search = await relay(at('Observation/_search'), { method: 'POST', body: `patient=${practice.patientId}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    t.equal(search.status, 200, 'a POST search')
    t.match(await search.json(), { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Observation' } }] }, 'with its parameters')
    const head = await relay(at(`Patient/${practice.patientId}`), { method: 'HEAD' })
    t.equal(head.status, 200, 'HEAD is a read')
  })

  t.test('an expired Healow token is refreshed once behind the handle', async (t) => {
    stack.sim.expireAccessTokens()
    stack.sim.resetCounters()
    t.equal((await relay(at(`Patient/${practice.patientId}`))).status, 200)
    t.same(stack.sim.counters().token, { 'refresh_token:ok': 1 })
  })

  t.test('the token relay: POST of a code exchange to the practice token URL only', async (t) => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    const token = (target?: string) => `vendor=healow&serviceId=${practice.id}&target_type=token${target === undefined ? '' : `&target=${encodeURIComponent(target)}`}`
    stack.sim.resetCounters()
    const get = await relay(token())
    await refused(t, get, 405, 'The token relay takes POST only')
    for (const target of [`${stack.sim.tokenUrl}x`, `${stack.sim.tokenUrl}/..`, 'http://evil.example/token', '?x=1']) {
      await refused(t, await relay(token(target), { method: 'POST', headers: form, body: 'grant_type=authorization_code' }), 400,
        "Not relayed: target_type=token goes to the practice's token URL only (leave target out)")
    }
    await refused(t, await relay(token(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 400,
      'The token relay takes an application/x-www-form-urlencoded body of OAuth parameters')
    await refused(t, await relay(token(), { method: 'POST', headers: form, body: 'grant_type=refresh_token' }), 400,
      "Not relayed: grant_type must be authorization_code: the relay exchanges a public client's code only")
    t.same(stack.sim.counters().token, {}, 'Healow saw none of them')
    const fresh = await mere.authorize(practice.id)
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: fresh.code, redirect_uri: mere.redirectUri, code_verifier: fresh.codeVerifier, client_id: stack.gw.config.HEALOW_CLIENT_ID }).toString()
    const exchanged = await relay(token(stack.sim.tokenUrl), { method: 'POST', headers: form, body })
    // A confidential client's code needs its secret, which the relay never adds: Healow's refusal is passed back.
    t.equal(exchanged.status, 401, 'the token URL itself is a target')
    t.equal(exchanged.headers.get('cache-control'), 'no-store')
    t.match(await exchanged.json(), { error: 'invalid_client' })
    t.equal((await relay(token(''), { method: 'POST', headers: form, body })).status, 401, 'an empty target is none')
    t.same(stack.sim.counters().token, { 'authorization_code:invalid_client': 2 })
  })
})

t.test('public mode with handles: the token relay stores the tokens and hands out handles', async (t) => {
  const stack = await startStack(t, { mode: 'public', env: { LOG_LEVEL: 'warn', MERE_VAULT_HANDLES: 'true' } })
  const mere = new MereWeb(stack)
  const practice = stack.sim.practices[0]
  const { code, codeVerifier } = await mere.authorize(practice.id)
  const exchanged = await mere.exchangeViaRelay(practice.id, code, codeVerifier)
  t.equal(exchanged.status, 200)
  t.match(exchanged.body, { token_type: 'Bearer', access_token: /^hsa\./, patient: practice.patientId })
  const connectionId = String(exchanged.body.access_token).split('.')[1]
  t.equal((await stack.gw.app.vault.read(connectionId))!.practiceId, practice.id, 'the tokens are in the vault')
  const replay = await mere.exchangeViaRelay(practice.id, code, codeVerifier)
  t.match(replay, { status: 400, body: { error: 'invalid_grant' } }, "Healow's refusal of a spent code is passed back")
  const read = await mere.proxy(practice.id, `Patient/${practice.patientId}`, String(exchanged.body.access_token))
  t.equal(read.status, 200, 'and the handle reads')
})
