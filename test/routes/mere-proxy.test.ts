import t from 'tap'
import { CRAFTED_PATHS, recordOutgoing, startDecoy } from '../helpers/fhir-proxy-attacks.js'
import { startStack } from '../helpers/connect.js'
import { MereWeb } from '../helpers/mere-web.js'

t.test('Mere web unchanged, in each mode: connect, exchange, every page, refresh, two tabs, keep working', async (t) => {
  for (const mode of ['public', 'confidential', 'confidential+handles'] as const) {
    t.test(mode, async (t) => {
      const stack = await startStack(t, {
        mode: mode === 'public' ? 'public' : 'confidential',
        env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, ...(mode === 'confidential+handles' ? { MERE_VAULT_HANDLES: 'true' } : {}) })
      })
      const mere = new MereWeb(stack)
      const practice = stack.sim.practices[0]
      const config = await (await fetch(`${stack.gw.url}/api/v1/instance-config`)).json() as Record<string, unknown>
      t.equal(config.HEALOW_CONFIDENTIAL_MODE, mode !== 'public')

      const { code, codeVerifier } = await mere.authorize(practice.id)
      const tokens = mode === 'public' ? await mere.exchangeViaRelay(practice.id, code, codeVerifier) : await mere.exchange(practice.id, code, codeVerifier)
      t.equal(tokens.status, 200, JSON.stringify(tokens.body))
      t.equal(typeof tokens.body.refresh_token, mode === 'public' ? 'undefined' : 'string')
      const seenBodies: string[] = [JSON.stringify(tokens.body)]

      // Observations come in several pages, with next links on Healow's alias host (the quirk is on).
      const all = await mere.searchAll(practice.id, practice.fhirBase, `Observation?patient=${practice.patientId}`, tokens.body.access_token as string)
      seenBodies.push(...all.bodies)
      t.ok(all.pages >= 3, `${all.pages} pages`)
      t.equal(all.ids.length, 30, 'every Observation')
      t.equal(new Set(all.ids).size, 30, 'no duplicates')
      t.match(all.bodies[0], new RegExp(stack.sim.aliasBase.replace(/[.:/]/g, '\\$&')), 'Bundles pass through unchanged (links still on the alias host)')

      if (mode === 'public') return
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

      if (mode === 'confidential+handles') {
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
  const referer = await fetch(`${stack.gw.url}/api/proxy?vendor=healow&serviceId=${practice.id}&target=metadata`, { headers: { referer: `${stack.gw.url}/some/page` } })
  t.equal(referer.status, 200, 'a Referer on PUBLIC_URL is enough')
  const epic = await fetch(`${stack.gw.url}/api/proxy?vendor=epic&serviceId=x&target=metadata`, { headers: { origin: stack.gw.url } })
  t.equal(epic.status, 404)
  t.match(await epic.json(), { resourceType: 'OperationOutcome', issue: [{ details: { text: /healow only/ } }] })
  const put = await mere.proxy(practice.id, 'Patient/1', 'x', { method: 'PUT' })
  t.equal(put.status, 404, 'PUT is not a route of the relay')
})
