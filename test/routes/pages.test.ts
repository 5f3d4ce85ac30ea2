import t from 'tap'
import path from 'node:path'
import { DEFAULT_PRACTICES } from '../../simulator/practices.js'
import { startStack, type Stack } from '../helpers/connect.js'
import { startGateway } from '../helpers/app.js'
import { SCREENSHOTS, WatchedPage, launchChromium, noChromium } from '../helpers/browser.js'

// Practice names, search words and error details an attacker controls; each must reach the
// page as text. The directory is Healow's (or a copy an operator downloaded), so it is input too.
const ATTACKS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(2)>',
  "'><svg onload=alert(3)>",
  '</code><script>alert(4)</script>',
  '<a href="javascript:alert(5)">x</a>'
]
const HOSTILE_PRACTICES = ATTACKS.map((name, i) => ({ id: `XSS${'ABCDE'[i]}AA`, name: `Clinic ${name}` }))

async function startPatientStack (t: Parameters<typeof startStack>[0]): Promise<Stack> {
  // The simulator shows its login page (no auto-login), as Healow would.
  return await startStack(
    t,
    { simulator: { autoLogin: false, practices: [...DEFAULT_PRACTICES, ...HOSTILE_PRACTICES] } }
  )
}

t.test('pages answer browsers with HTML and API clients with JSON, with the same status', async (t) => {
  const { gw } = await startPatientStack(t)
  const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
  const cases: Array<[string, number, RegExp]> = [
    ['/healow/connect?tenant=NOPE42', 404, /We could not find this practice/],
    ['/healow/connect', 400, /This link does not work/],
    ['/healow/connect?tenant=BHDGCD&return_to=https%3A%2F%2Fevil.example.com%2F', 400, /does not trust/],
    ['/healow/callback?code=forged&state=forged', 400, /This sign-in cannot be finished/],
    ['/healow/callback?error=access_denied&state=forged', 400, /This sign-in cannot be finished/],
    ['/no/such/page', 404, /Not found/]
  ]
  for (const [path, status, text] of cases) {
    const page = await fetch(gw.url + path, { headers: { accept: browserAccept }, redirect: 'manual' })
    t.equal(page.status, status, `${path}: page status`)
    t.match(page.headers.get('content-type'), /^text\/html/, `${path}: a page`)
    t.match(page.headers.get('content-security-policy'), /default-src 'none'.*style-src 'self'/, `${path}: the pages' CSP`)
    t.match(await page.text(), text, `${path}: plain words`)
    for (const accept of ['application/json', '*/*', undefined]) {
      const api = await fetch(gw.url + path, { headers: accept ? { accept } : {}, redirect: 'manual' })
      t.equal(api.status, status, `${path} (${accept ?? 'no Accept'}): same status`)
      const body = await api.json() as { statusCode: number, message: string }
      t.equal(body.statusCode, status, `${path} (${accept ?? 'no Accept'}): the JSON error`)
    }
  }
  for (const path of ['/', '/?q=family', '/healow/connected', '/no/such/page']) {
    const page = await (await fetch(gw.url + path, { headers: { accept: browserAccept } })).text()
    t.notMatch(page, /<script(?![^>]*\bsrc=)|\sstyle=|<style|\son[a-z]+=/i, `${path}: no inline script, style or event handler`)
  }
  const fhir = await fetch(`${gw.url}/fhir/00000000-0000-4000-8000-000000000000/Patient/1`, { headers: { accept: browserAccept } })
  t.equal((await fhir.json() as { resourceType: string }).resourceType, 'OperationOutcome', 'the FHIR proxy answers OperationOutcome even to a browser')
})

t.test('the start page says so while the practice list is not loaded yet', async (t) => {
  const gw = await startGateway(t)
  const home = await fetch(`${gw.url}/`)
  t.equal(home.status, 200, 'the page itself is there')
  const search = await fetch(`${gw.url}/?q=family`)
  t.equal(search.status, 503)
  t.match(await search.text(), /The list of practices is still loading/)
  const tooLong = await fetch(`${gw.url}/?q=${'x'.repeat(300)}`, { headers: { accept: 'text/html' } })
  t.equal(tooLong.status, 400, 'search words too long: the error page')
})

t.test('the result page believes only a cookie the gateway signed', async (t) => {
  const { gw, sim } = await startPatientStack(t)
  const forged = Buffer.from(JSON.stringify({ kind: 'connected', practiceId: sim.practices[1]!.id, handoff: 'hsh_forged', expiresAt: Date.now() + 60_000 })).toString('base64url')
  for (const value of [forged, `${forged}.c2lnbmF0dXJl`]) {
    const page = await (await fetch(`${gw.url}/healow/connected`, { headers: { cookie: `healow-connect-result=${value}` } })).text()
    t.match(page, /Nothing to show/, 'an unsigned or wrongly signed result is ignored')
    t.notMatch(page, /hsh_forged/)
  }
})

t.test('in Chromium', { skip: noChromium }, async (t) => {
  const stack = await startPatientStack(t)
  const { gw, sim } = stack
  const browser = await launchChromium(t)
  const practice = sim.practices.find((p) => p.id === 'BHDGCD')!

  t.test('search a practice, connect through Healow\'s login, copy the code, reload', async (t) => {
    const tab = await WatchedPage.open(t, browser, { origin: gw.url })
    await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url })
    const { page } = tab
    await page.goto(`${gw.url}/`)
    await tab.check(t, 'start')
    await page.getByLabel('Find your practice').pressSequentially('lakeside', { delay: 20 })
    const connect = page.getByRole('link', { name: `Connect to ${practice.name}` })
    await connect.waitFor()
    t.match(await page.locator('#results-status').textContent(), /1 practice matches/)
    t.equal(new URL(page.url()).searchParams.get('q'), 'lakeside', 'the address keeps the search, so back and reload show it')
    await tab.check(t, 'start-search')

    await connect.click()
    await page.waitForURL((url) => url.origin === sim.url)
    await page.getByLabel('Login').fill(practice.login)
    await page.getByRole('button', { name: /Sign in/ }).click()
    await page.waitForURL(`${gw.url}/healow/connected`)
    t.equal(new URL(page.url()).search, '', 'no code or state in the address bar')
    t.equal(await page.locator('h1').textContent(), `Connected to ${practice.name}`, 'the practice by its name')
    t.notMatch(await page.locator('main').textContent(), /POST|claim|handoff|OAuth/i, 'no developer words')
    await tab.check(t, 'connected')

    const code = (await page.locator('#handoff').textContent())!.trim()
    await page.getByRole('button', { name: 'Copy code' }).click()
    await page.getByText('Copied.').waitFor()
    t.equal(await page.evaluate(() => navigator.clipboard.readText()), code, 'the copy button copies the code')

    await page.reload()
    t.equal(await page.locator('h1').textContent(), `Connected to ${practice.name}`, 'a reload shows the same page')
    t.equal((await page.locator('#handoff').textContent())!.trim(), code)
    await tab.check(t, 'connected-reload')

    const claim = await fetch(`${gw.url}/connections/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff: code }) })
    t.equal(claim.status, 201, 'the copied code claims the connection')
  })

  t.test('the start page works without JavaScript, on a phone, in dark mode', async (t) => {
    const noScript = await browser.newContext({ javaScriptEnabled: false, colorScheme: 'dark', viewport: { width: 390, height: 844 } })
    t.teardown(() => noScript.close())
    const plain = await noScript.newPage()
    await plain.goto(`${gw.url}/`)
    await plain.getByLabel('Find your practice').fill('cardiology')
    await plain.getByRole('button', { name: 'Search' }).click()
    await plain.waitForURL(/\?q=cardiology/)
    t.ok(await plain.getByRole('link', { name: 'Connect to Summit Cardiology Associates' }).isVisible(), 'results come with the page')
    await plain.screenshot({ path: path.join(SCREENSHOTS, 'start-no-javascript-phone-dark.png'), fullPage: true })
    const dark = await WatchedPage.open(t, browser, { origin: gw.url, colorScheme: 'dark', viewport: { width: 390, height: 844 } })
    await dark.page.goto(`${gw.url}/?q=family`)
    await dark.check(t, 'start-phone-dark')
  })

  t.test('every error page a browser can reach', async (t) => {
    const tab = await WatchedPage.open(t, browser, { origin: gw.url })
    const { page } = tab
    const visit = async (name: string, path: string, status: number, heading: RegExp) => {
      const response = await page.goto(gw.url + path)
      t.equal(response?.status(), status, `${name}: status`)
      t.match(await page.locator('h1').textContent(), heading, `${name}: heading`)
      // Errors end in console messages for the failed load itself; what matters is that nothing else is.
      tab.consoleErrors.splice(0, tab.consoleErrors.length, ...tab.consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e)))
      await tab.check(t, name)
    }
    await visit('error-unknown-practice', '/healow/connect?tenant=NOPE42', 404, /Not found/)
    await visit('error-missing-practice', '/healow/connect', 400, /This link does not work/)
    await visit('error-return-to', '/healow/connect?tenant=BHDGCD&return_to=https%3A%2F%2Fevil.example.com%2F', 400, /This link does not work/)
    await visit('error-stale-callback', '/healow/callback?code=forged&state=forged', 400, /This link does not work/)
    await visit('error-not-found', '/no/such/page', 404, /Not found/)
    await visit('connected-nothing', '/healow/connected', 200, /Nothing to show/)

    // The patient says no at Healow: Healow sends the browser back with an error.
    const authorize = page.waitForRequest((request) => request.url().startsWith(sim.authorizeUrl))
    await page.goto(`${gw.url}/healow/connect?tenant=${practice.id}`)
    const state = new URL((await authorize).url()).searchParams.get('state')!
    await page.goto(`${gw.url}/healow/callback?${new URLSearchParams({ error: 'access_denied', error_description: ATTACKS[1]!, state })}`)
    await page.waitForURL(`${gw.url}/healow/connected`)
    t.equal(await page.locator('h1').textContent(), 'Not connected')
    t.match(await page.locator('main').textContent(), practice.name, 'names the practice')
    await page.locator('summary').click()
    t.ok(await page.getByText(ATTACKS[1]!, { exact: false }).isVisible(), "Healow's error description is shown as text")
    await tab.check(t, 'declined')
    await page.reload()
    t.equal(await page.locator('h1').textContent(), 'Not connected', 'a reload shows the same page')
  })

  t.test('hostile practice names, searches and error details are shown as text', async (t) => {
    const tab = await WatchedPage.open(t, browser, { origin: gw.url })
    const { page } = tab
    for (const [i, attack] of ATTACKS.entries()) {
      // As you type: the script renders the names from the JSON.
      await page.goto(`${gw.url}/`)
      await page.getByLabel('Find your practice').fill(`clinic ${attack}`.slice(0, 30))
      await page.getByLabel('Find your practice').fill('clinic')
      await page.getByRole('link', { name: `Connect to ${HOSTILE_PRACTICES[i]!.name}` }).waitFor()
      // Without the script: the page renders them, and the search words too.
      await page.goto(`${gw.url}/?${new URLSearchParams({ q: attack })}`)
      t.equal(await page.getByLabel('Find your practice').inputValue(), attack, `search words ${i} stay text in the field`)
      await page.goto(`${gw.url}/?q=clinic`)
      t.ok(await page.getByText(HOSTILE_PRACTICES[i]!.name, { exact: true }).isVisible(), `practice name ${i} is text`)
      // The error page's details carry the path.
      await page.goto(`${gw.url}/${encodeURIComponent(attack)}`)
      await page.locator('summary').click()
      t.match(await page.locator('details').textContent(), `No route GET /${encodeURIComponent(attack)}`)
      tab.consoleErrors.length = 0
    }
    // Connected to a practice whose name is an attack.
    const hostile = sim.practices.find((p) => p.id === HOSTILE_PRACTICES[0]!.id)!
    await page.goto(`${gw.url}/healow/connect?tenant=${hostile.id}`)
    await page.getByLabel('Login').fill(hostile.login)
    await page.getByRole('button', { name: /Sign in/ }).click()
    await page.waitForURL(`${gw.url}/healow/connected`)
    t.equal(await page.locator('h1').textContent(), `Connected to ${hostile.name}`, 'the hostile name is the heading, as text')
    await tab.check(t, 'connected-hostile-name')
    t.same(tab.dialogs, [], 'no script ran')
  })
})
