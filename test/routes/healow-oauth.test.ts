import t from 'tap'
import { PatientBrowser } from '../../simulator/browser.js'
import { handoffFromPage } from '../../lib/pages/connect-result.js'
import { bearer, connectPatient, finishAtCallback, loginAtHealow, startStack } from '../helpers/connect.js'

t.test('refusals: each with a 4xx and a message saying what is wrong', async (t) => {
  const stack = await startStack(t, { mode: 'confidential', env: { ALLOWED_ORIGINS: 'https://app.example.org' } })
  const { gw, sim } = stack
  const practice = sim.practices[0]

  t.test('unknown practice', async (t) => {
    const res = await fetch(`${gw.url}/healow/connect?tenant=NOPE42`, { redirect: 'manual' })
    t.equal(res.status, 404)
    t.match((await res.json() as { message: string }).message, /Unknown practice "NOPE42"/)
  })

  t.test('foreign or malformed return_to: no open redirect', async (t) => {
    for (const returnTo of ['https://evil.example.com/', 'https://app.example.org.evil.com/', '//evil.example.com', 'javascript:alert(1)', 'https://user@app.example.org/']) {
      const res = await fetch(`${gw.url}/healow/connect?tenant=${practice.id}&return_to=${encodeURIComponent(returnTo)}`, { redirect: 'manual' })
      t.equal(res.status, 400, returnTo)
      t.match((await res.json() as { message: string }).message, /return_to must be/)
    }
  })

  t.test('the redirect to Healow carries state, PKCE S256, aud and the scopes of the mode', async (t) => {
    const res = await fetch(`${gw.url}/healow/connect?tenant=${practice.id}`, { redirect: 'manual' })
    t.equal(res.status, 302)
    const url = new URL(res.headers.get('location')!)
    t.equal(url.origin + url.pathname, sim.authorizeUrl)
    t.equal(url.searchParams.get('aud'), practice.fhirBase)
    t.equal(url.searchParams.get('code_challenge_method'), 'S256')
    t.match(url.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
    t.match(url.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/)
    t.equal(url.searchParams.get('redirect_uri'), gw.config.redirectUri)
    t.match(url.searchParams.get('scope'), /\bopenid fhirUser\b.*\bpatient\/Observation\.read\b.*\boffline_access\b/)
    const cookies = res.headers.getSetCookie().join('\n')
    t.match(cookies, /healow-oauth-state=.*HttpOnly/i)
    t.match(cookies, /healow-oauth-verifier=.*HttpOnly/i)
  })

  t.test('a tampered state is refused', async (t) => {
    const { browser, callbackUrl } = await loginAtHealow(stack)
    callbackUrl.searchParams.set('state', callbackUrl.searchParams.get('state')!.slice(0, -2) + 'xx')
    const res = await browser.get(callbackUrl)
    t.equal(res.status, 400)
    t.match(await res.text(), /Invalid OAuth state/)
  })

  t.test('a replayed callback is refused, even with the cookies of the browser that started it', async (t) => {
    const { browser, callbackUrl } = await loginAtHealow(stack)
    const cookies = browser.cookiesFor(callbackUrl)
    const first = await browser.get(callbackUrl)
    t.equal(first.status, 303, 'finished: to the result page')
    const replay = await fetch(callbackUrl, { headers: { cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ') } })
    t.equal(replay.status, 400)
    t.match(await replay.text(), /Invalid OAuth state/)
  })

  t.test('a callback in another browser is refused before Healow sees the code, and the patient can still finish', async (t) => {
    const { browser, callbackUrl } = await loginAtHealow(stack)
    // The near miss: a browser with a sign-in of its own, so a state cookie that is merely not this one.
    const other = new PatientBrowser()
    await other.get(`${gw.url}/healow/connect?tenant=${practice.id}`)
    t.ok(other.cookiesFor(callbackUrl)['healow-oauth-state'], 'the other browser holds a state cookie')
    sim.resetCounters()
    for (const [name, attacker] of [['a state cookie of its own', other], ['no cookie', new PatientBrowser()]] as const) {
      const res = await attacker.get(callbackUrl)
      t.equal(res.status, 400, name)
      t.match(await res.text(), /Invalid OAuth state/, name)
    }
    t.same(sim.counters().token, {}, 'Healow saw no code exchange')
    const finished = await finishAtCallback(browser, callbackUrl)
    t.equal(finished.status, 200, 'the browser that started the sign-in finishes it')
    t.ok(handoffFromPage(finished.html), 'and gets its handoff')
    t.same(sim.counters().token, { 'authorization_code:ok': 1 })
  })

  t.test('the patient says no: a clear answer, nothing stored', async (t) => {
    const browser = new PatientBrowser()
    const start = await browser.get(`${gw.url}/healow/connect?tenant=${practice.id}&return_to=${encodeURIComponent('https://app.example.org/done')}`)
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!
    const declined = await browser.get(`${gw.url}/healow/callback?error=access_denied&error_description=${encodeURIComponent('The user denied access')}&state=${state}`)
    t.equal(declined.status, 302)
    const back = new URL(declined.headers.get('location')!)
    t.equal(back.origin + back.pathname, 'https://app.example.org/done')
    t.same(Object.fromEntries(new URLSearchParams(back.hash.slice(1))), { error: 'access_denied', error_description: 'The user denied access' })
    const page = await new PatientBrowser().get(`${gw.url}/healow/callback?error=access_denied&state=${state}`)
    t.equal(page.status, 400, 'the same error cannot be replayed')
  })

  t.test('return_to receives the handoff in the fragment', async (t) => {
    const { browser, callbackUrl } = await loginAtHealow(stack, { returnTo: 'https://app.example.org/connected?x=1' })
    const res = await browser.get(callbackUrl)
    t.equal(res.status, 302)
    const back = new URL(res.headers.get('location')!)
    t.equal(back.origin + back.pathname + back.search, 'https://app.example.org/connected?x=1')
    t.match(back.hash, /^#handoff=hsh_[A-Za-z0-9_-]{43}$/)
  })

  t.test('handoffs: single use, and keys checked', async (t) => {
    const { browser, callbackUrl } = await loginAtHealow(stack)
    const handoff = handoffFromPage((await finishAtCallback(browser, callbackUrl)).html)!
    const claim = (code: string) => fetch(`${gw.url}/connections/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff: code }) })
    const first = await claim(handoff)
    t.equal(first.status, 201)
    const { connection, key } = await first.json() as { connection: { id: string }, key: string }
    const replay = await claim(handoff)
    t.equal(replay.status, 400)
    t.match((await replay.json() as { message: string }).message, /unknown, already used, or expired/)
    t.equal((await claim('hsh_' + 'A'.repeat(43))).status, 400, 'made-up handoff')
    t.equal((await fetch(`${gw.url}/connections/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"handoff":1}' })).status, 400, 'schema error')

    const wrongKey = await fetch(`${gw.url}/connections/${connection.id}`, { headers: bearer('hsk_' + 'B'.repeat(43)) })
    t.equal(wrongKey.status, 401)
    t.match((await wrongKey.json() as { message: string }).message, /Missing or wrong connection key/)
    t.equal((await fetch(`${gw.url}/connections/${connection.id}`)).status, 401, 'no key')
    t.equal((await fetch(`${gw.url}/connections/00000000-0000-4000-8000-000000000000`, { headers: bearer(key) })).status, 401, 'unknown id answers like a wrong key')
    t.equal((await fetch(`${gw.url}/connections/not-a-uuid`, { headers: bearer(key) })).status, 400)

    t.equal((await fetch(`${gw.url}/connections/${connection.id}`, { method: 'DELETE', headers: bearer(key) })).status, 204)
    t.equal((await fetch(`${gw.url}/connections/${connection.id}`, { headers: bearer(key) })).status, 401, 'gone with its tokens')
  })
})

t.test('an expired handoff is refused', async (t) => {
  const stack = await startStack(t)
  const { connectionId } = await connectPatient(stack)
  const code = await stack.gw.app.connections.createHandoff(connectionId, Date.now() - 6 * 60_000)
  const res = await fetch(`${stack.gw.url}/connections/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff: code }) })
  t.equal(res.status, 400)
})

t.test('claim is rate limited', async (t) => {
  const stack = await startStack(t)
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) {
    const res = await fetch(`${stack.gw.url}/connections/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff: 'hsh_' + String(i).padStart(43, 'x') }) })
    statuses.push(res.status)
  }
  t.same(statuses.slice(0, 10), Array(10).fill(400))
  t.same(statuses.slice(10), [429, 429])
})
