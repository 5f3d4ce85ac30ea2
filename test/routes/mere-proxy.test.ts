import t from 'tap'
import { CRAFTED_PATHS, recordOutgoing, startDecoy } from '../helpers/fhir-proxy-attacks.js'
import { startStack } from '../helpers/connect.js'
import { MereWeb } from '../helpers/mere-web.js'
import { TOKEN_RELAY_PER_MINUTE } from '../../routes/mere-proxy.js'

t.test('Mere web unchanged, in each mode: connect, exchange, every page, refresh, two tabs, keep working', async (t) => {
  for (const mode of ['public', 'public+handles', 'confidential', 'confidential+handles'] as const) {
    t.test(mode, async (t) => {
      const handles = mode.endsWith('+handles')
      const stack = await startStack(t, {
        mode: mode.startsWith('public') ? 'public' : 'confidential',
        env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, ...(handles ? { MERE_VAULT_HANDLES: 'true' } : {}) })
      })
      const mere = new MereWeb(stack)
      const practice = stack.sim.practices[0]
      const config = await (await fetch(`${stack.gw.url}/api/v1/instance-config`)).json() as Record<string, unknown>
      const isPublic = stack.mode === 'public'
      t.equal(config.HEALOW_CONFIDENTIAL_MODE, !isPublic)

      const { code, codeVerifier } = await mere.authorize(practice.id)
      // Public mode: Mere's own request shape, POST …&target_type=token with no target at all.
      const tokens = isPublic
        ? await mere.exchangeViaRelay(practice.id, code, codeVerifier)
        : await mere.exchange(practice.id, code, codeVerifier)
      t.equal(tokens.status, 200, JSON.stringify(tokens.body))
      t.equal(typeof tokens.body.refresh_token, isPublic && !handles ? 'undefined' : 'string')
      if (handles) t.match(tokens.body.access_token, /^hsa\./, 'a handle, not the Healow token')
      const seenBodies: string[] = [JSON.stringify(tokens.body)]

      // Observations come in several pages, with next links on Healow's alias host (the quirk is on).
      const all = await mere.searchAll(practice.id, practice.fhirBase, `Observation?patient=${practice.patientId}`, tokens.body.access_token as string)
      seenBodies.push(...all.bodies)
      t.ok(all.pages >= 3, `${all.pages} pages`)
      t.equal(all.ids.length, 30, 'every Observation')
      t.equal(new Set(all.ids).size, 30, 'no duplicates')
      t.match(all.bodies[0], new RegExp(stack.sim.aliasBase.replace(/[.:/]/g, '\\$&')), 'Bundles pass through unchanged (links still on the alias host)')
      // Mere fetches an attachment with the base cut off its URL, leaving a leading slash.
      t.equal((await mere.proxy(practice.id, `/Patient/${practice.patientId}`, tokens.body.access_token as string)).status, 200, 'a target with a leading slash is under the base')

      if (isPublic) {
        // A browser's URLSearchParams body without a hand-set type says charset=UTF-8: the same exchange.
        const again = await mere.authorize(practice.id)
        const relayed = await mere.exchangeViaRelay(practice.id, again.code, again.codeVerifier, { contentType: 'application/x-www-form-urlencoded;charset=UTF-8' })
        t.equal(relayed.status, 200, JSON.stringify(relayed.body))
        return
      }
      let refresh = tokens.body.refresh_token as string
      let access = tokens.body.access_token as string
      for (let i = 0; i < 2; i++) {
        const next = await mere.refresh(practice.id, refresh)
        t.equal(next.status, 200, `refresh ${i + 1}`)
        seenBodies.push(JSON.stringify(next.body))
        refresh = next.body.refresh_token as string
        access = next.body.access_token as string
      }
      const [tabA, tabB] = await Promise.all([mere.refresh(practice.id, refresh), mere.refresh(practice.id, refresh)])
      t.equal(tabA.status, 200)
      t.equal(tabB.status, 200)
      t.equal(tabA.body.refresh_token, tabB.body.refresh_token, 'both tabs carry on with the same token')
      seenBodies.push(JSON.stringify(tabA.body), JSON.stringify(tabB.body))
      access = tabA.body.access_token as string
      const patient = await mere.proxy(practice.id, `Patient/${practice.patientId}`, access)
      t.equal(patient.status, 200, 'still working')
      seenBodies.push(await patient.text())
      t.equal(stack.sim.counters().token['refresh_token:invalid_grant'] ?? 0, 0, 'no refresh token was ever spent twice')

      if (handles) {
        const [connectionId] = access.split('.').slice(1)
        const stored = (await stack.gw.app.vault.read(connectionId))!.tokens
        for (const body of seenBodies) {
          t.notOk(body.includes(stored.accessToken) || body.includes(stored.refreshToken!), 'no Healow token in any response body')
        }
        t.notMatch(seenBodies.join('\n'), /"access_token":"(?!hsa\.)/, 'every access_token is a handle')
      }
    })
  }
})

t.test('the relay refuses what Mere web would never send', async (t) => {
  const stack = await startStack(t, { mode: 'confidential', env: { LOG_LEVEL: 'warn' } })
  const mere = new MereWeb(stack)
  const [practice, other] = stack.sim.practices
  const decoy = await startDecoy(t)
  const outgoing = recordOutgoing(t, stack.gw.url)
  stack.sim.resetCounters()
  const fill = (s: string) => s.replaceAll('{decoy}', decoy.host).replaceAll('{other}', other.id)

  // The proxy's crafted-path battery, as Mere's target= (URL-encoded once, and also pre-decoded).
  const targets = CRAFTED_PATHS.filter((c) => c.method === undefined).flatMap((c) => {
    const raw = fill(c.rest).replace(/^\//, '')
    let decoded: string | undefined
    try { decoded = decodeURIComponent(raw) } catch { decoded = undefined }
    return [raw, ...(decoded !== undefined && decoded !== raw ? [decoded] : [])]
  })
  // And whole URLs: another host, another practice, the token endpoint.
  targets.push(`http://${decoy.host}/Patient`, `//${decoy.host}/Patient`, `${other.fhirBase}/Patient`, stack.sim.tokenUrl, `${stack.sim.url}/oauth/oauth2/token`,
    `${practice.fhirBase}/../${other.id}/Patient`, `${practice.fhirBase}@${decoy.host}/Patient`, `https://${decoy.host}${new URL(practice.fhirBase).pathname}/Patient`)
  t.ok(targets.length >= 40, `${targets.length} crafted targets`)
  for (const target of targets) {
    const res = await mere.proxy(practice.id, target, 'some-healow-token')
    t.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(target).slice(0, 80)}: refused with ${res.status}`)
  }
  const tokenTargets = [`http://${decoy.host}/token`, `${stack.sim.url}/oauth/oauth2/authorize`, '../../x']
  for (const target of tokenTargets) {
    const res = await mere.proxy(practice.id, target, undefined, { method: 'POST', targetType: 'token', body: 'grant_type=refresh_token&refresh_token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    t.equal(res.status, 400, `token relay to ${target} refused`)
  }
  t.same(decoy.seen, [], 'the decoy saw nothing')
  t.same(outgoing, [], 'the gateway sent nothing anywhere')
  t.same(stack.sim.counters().fhir, {}, 'the simulator saw nothing')

  const foreign = await fetch(`${stack.gw.url}/api/proxy?vendor=healow&serviceId=${practice.id}&target=metadata`, { headers: { origin: 'https://evil.example.com' } })
  t.equal(foreign.status, 403, 'a foreign Origin is refused')
  const noOrigin = await fetch(`${stack.gw.url}/api/proxy?vendor=healow&serviceId=${practice.id}&target=metadata`)
  t.equal(noOrigin.status, 403, 'no Origin and no Referer is refused')
  const referer = await fetch(`${stack.gw.url}/api/proxy?vendor=healow&serviceId=${practice.id}&target=metadata`, { headers: { referer: `${stack.gw.url}/some/page`, authorization: 'Bearer some-token' } })
  t.equal(referer.status, 200, 'a Referer on PUBLIC_URL is enough')
  const epic = await fetch(`${stack.gw.url}/api/proxy?vendor=epic&serviceId=x&target=metadata`, { headers: { origin: stack.gw.url } })
  t.equal(epic.status, 404)
  t.match(await epic.json(), { resourceType: 'OperationOutcome', issue: [{ details: { text: /healow only/ } }] })
  const put = await mere.proxy(practice.id, 'Patient/1', 'x', { method: 'PUT' })
  t.equal(put.status, 404, 'PUT is not a route of the relay')
})

t.test('nobody spends a practice\'s Healow budget through the relay without a token', async (t) => {
  // Healow's budget for the practice is 13 a minute here, so the gateway's own share is 12: had the
  // refused calls below taken from it, the legitimate ones after them would be answered 429.
  // TRUST_PROXY lets each call come from its own address (X-Forwarded-For), as from a botnet.
  const stack = await startStack(t, { mode: 'public', env: { LOG_LEVEL: 'warn', TRUST_PROXY: 'true', HEALOW_RATE_LIMIT_PER_MINUTE: '13' } })
  const practice = stack.sim.practices[0]
  const gw = stack.gw.url
  // A script sets any Origin it likes: these all carry PUBLIC_URL's.
  const forged = { origin: stack.gw.config.PUBLIC_URL }
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  let address = 0
  const relay = (query: string, init: RequestInit = {}, from = `203.0.113.${++address}`) =>
    fetch(`${gw}/api/proxy?vendor=healow&serviceId=${practice.id}&${query}`, { ...init, headers: { ...forged, 'x-forwarded-for': from, ...init.headers as Record<string, string> } })
  const verifier = 'v'.repeat(43)
  const clientId = stack.gw.config.HEALOW_CLIENT_ID
  const anonymous: Array<[string, () => Promise<Response>, RegExp]> = [
    ...['metadata', `Patient/${practice.patientId}`, `Observation?patient=${practice.patientId}`, 'Patient', '/Binary/x'].flatMap((target) => [
      [`GET ${target}`, () => relay(`target=${encodeURIComponent(target)}`), /Authorization: Bearer/] as [string, () => Promise<Response>, RegExp],
      [`HEAD ${target}`, () => relay(`target=${encodeURIComponent(target)}`, { method: 'HEAD' }), /./] as [string, () => Promise<Response>, RegExp]
    ]),
    ['POST _search', () => relay('target=Observation%2F_search', { method: 'POST', headers: form, body: `patient=${practice.patientId}` }), /Authorization: Bearer/],
    ['empty Bearer', () => relay('target=Patient', { headers: { authorization: 'Bearer ' } }), /Bearer <token>/],
    ['Basic', () => relay('target=Patient', { headers: { authorization: 'Basic YTpi' } }), /Bearer <token>/],
    ...[
      ['refresh grant', 'grant_type=refresh_token&refresh_token=x', /authorization_code/],
      ['client credentials', `grant_type=client_credentials&client_id=${clientId}`, /authorization_code/],
      ['no code', `grant_type=authorization_code&redirect_uri=x&code_verifier=${verifier}&client_id=${clientId}`, /code is required/],
      ['no verifier', `grant_type=authorization_code&code=c&redirect_uri=x&client_id=${clientId}`, /code_verifier/],
      ['short verifier', `grant_type=authorization_code&code=c&redirect_uri=x&code_verifier=abc&client_id=${clientId}`, /code_verifier/],
      ['another app', `grant_type=authorization_code&code=c&redirect_uri=x&code_verifier=${verifier}&client_id=other-app`, /client_id/],
      ['a secret from a browser', `grant_type=authorization_code&code=c&redirect_uri=x&code_verifier=${verifier}&client_id=${clientId}&client_secret=s`, /client_secret/],
      ['a repeated code', `grant_type=authorization_code&code=c&code=d&redirect_uri=x&code_verifier=${verifier}&client_id=${clientId}`, /more than once/],
      ['bad escape', 'grant_type=%zz', /form-encoded/],
      ['empty', '', /grant_type/]
    ].map(([what, body, reason]) => [`token: ${what as string}`, () => relay('target_type=token', { method: 'POST', headers: form, body: body as string }), reason as RegExp] as [string, () => Promise<Response>, RegExp]),
    ['token: JSON body', () => relay('target_type=token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"authorization_code"}' }), /form-urlencoded/],
    ['token: GET', () => relay('target_type=token'), /POST only/],
    ['token: text/plain', () => relay('target_type=token', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'grant_type=authorization_code' }), /./],
    ['token: target elsewhere', () => relay(`target_type=token&target=${encodeURIComponent('http://evil.example/token')}`, { method: 'POST', headers: form, body: 'grant_type=authorization_code' }), /token URL only/],
    ['token: unparsable target', () => relay(`target_type=token&target=${encodeURIComponent('http://[')}`, { method: 'POST', headers: form, body: 'grant_type=authorization_code' }), /token URL only/],
    ['base: unparsable target', () => relay(`target=${encodeURIComponent('http://[')}`, { headers: { authorization: 'Bearer x' } }), /not a FHIR path/],
    ['base: no target', () => relay('target_type=base', { headers: { authorization: 'Bearer x' } }), /target is required/]
  ]
  t.ok(anonymous.length >= 30, `${anonymous.length} anonymous or malformed calls`)
  stack.sim.resetCounters()
  for (const [what, call, reason] of anonymous) {
    const res = await call()
    t.ok(res.status >= 400 && res.status < 500, `${what}: refused with ${res.status}`)
    const text = await res.text()
    if (text) t.match(text, reason, `${what}: says why`)
  }
  t.same(stack.sim.counters().fhir, {}, 'not one reached Healow\'s FHIR server')
  t.same(stack.sim.counters().token, {}, 'nor its token endpoint')

  // A well-formed exchange of a made-up code does reach Healow, but only so often per address.
  const exchange = (from: string) => relay('target_type=token', { method: 'POST', headers: form, body: new URLSearchParams({ grant_type: 'authorization_code', code: 'made-up', redirect_uri: `${gw}/cb`, code_verifier: verifier, client_id: clientId }).toString() }, from)
  const answers: Array<{ status: number, text: string, retryAfter: string | null }> = []
  for (let i = 0; i < TOKEN_RELAY_PER_MINUTE + 5; i++) {
    const res = await exchange('198.51.100.7')
    answers.push({ status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') })
  }
  t.same(answers.slice(0, TOKEN_RELAY_PER_MINUTE).map((a) => a.status), Array(TOKEN_RELAY_PER_MINUTE).fill(400), 'the first ones reach Healow, which refuses the made-up code (the budget was all there)')
  t.match(answers[0].text, /invalid_grant/)
  for (const limited of answers.slice(TOKEN_RELAY_PER_MINUTE)) {
    t.equal(limited.status, 429, 'then this address is refused')
    t.match(limited.text, /Too many token requests from this address/)
    t.ok(Number(limited.retryAfter) > 0, 'with Retry-After')
  }
  t.equal((await exchange('198.51.100.8')).status, 400, 'another address still gets through')
  t.equal(stack.sim.counters().token['authorization_code:invalid_grant'], TOKEN_RELAY_PER_MINUTE + 1, 'Healow saw exactly the calls the limit let through')
})

t.test('near-miss origins are refused: the comparison is exact', async (t) => {
  const stack = await startStack(t, { mode: 'confidential', env: { LOG_LEVEL: 'warn' } })
  const practice = stack.sim.practices[0]
  const publicUrl = new URL(stack.gw.config.PUBLIC_URL)
  const otherPort = `${publicUrl.protocol}//${publicUrl.hostname}:${Number(publicUrl.port) + 1}`
  stack.sim.resetCounters()
  const near: Array<Record<string, string>> = [
    { origin: `${publicUrl.origin}.evil.example` },
    { origin: otherPort },
    { origin: `${publicUrl.origin}0` },
    { origin: `https://${publicUrl.host}` },
    { origin: `http://localhost:${publicUrl.port}` },
    { origin: `${publicUrl.origin}/` },
    { origin: publicUrl.origin.toUpperCase() },
    { origin: 'null' },
    { origin: `${publicUrl.origin}, ${publicUrl.origin}` },
    { referer: `${publicUrl.origin}.evil.example/page` },
    { referer: `${otherPort}/page` },
    { referer: `http://evil.example/${publicUrl.origin}` },
    { referer: 'not a url' },
    { origin: 'https://evil.example', referer: `${publicUrl.origin}/page` }
  ]
  for (const headers of near) {
    const res = await fetch(`${stack.gw.url}/api/proxy?vendor=healow&serviceId=${practice.id}&target=metadata`, { headers: { ...headers, authorization: 'Bearer some-token' } })
    t.equal(res.status, 403, `${JSON.stringify(headers)}: refused`)
    t.match(await res.json(), { issue: [{ details: { text: new RegExp(`only serves pages on ${publicUrl.origin.replace(/[.:/]/g, '\\$&')}`) } }] })
  }
  t.same(stack.sim.counters().fhir, {}, 'none reached Healow')
  const exact = await fetch(`${stack.gw.url}/api/proxy?vendor=healow&serviceId=${practice.id}&target=metadata`, { headers: { origin: publicUrl.origin, authorization: 'Bearer some-token' } })
  t.equal(exact.status, 200, 'the exact origin is served')
})

t.test('vault-handle mode: the relay takes only handles, before any Healow request', async (t) => {
  const stack = await startStack(t, { mode: 'confidential', env: { MERE_VAULT_HANDLES: 'true', LOG_LEVEL: 'warn' } })
  const mere = new MereWeb(stack)
  const practice = stack.sim.practices[0]
  const { code, codeVerifier } = await mere.authorize(practice.id)
  const tokens = await mere.exchange(practice.id, code, codeVerifier)
  const [connectionId] = (tokens.body.access_token as string).split('.').slice(1)
  const healowToken = (await stack.gw.app.vault.read(connectionId))!.tokens.accessToken
  stack.sim.resetCounters()
  for (const token of [healowToken, 'some-token', 'hsa.not-a-handle', `hsa.${connectionId}.hsk_${'x'.repeat(43)}`]) {
    const res = await mere.proxy(practice.id, `Patient/${practice.patientId}`, token)
    t.equal(res.status, 401, `${token === healowToken ? 'the real Healow token' : token.slice(0, 20)}: refused`)
  }
  t.same(stack.sim.counters().fhir, {}, 'none reached Healow')
  t.equal((await mere.proxy(practice.id, `Patient/${practice.patientId}`, tokens.body.access_token as string)).status, 200, 'the handle works')
})
