import t from 'tap'
import { startGateway } from '../helpers/app.js'
import { connectPatient, startStack } from '../helpers/connect.js'
import { WatchedPage, launchChromium, noChromium } from '../helpers/browser.js'
import { loadConfig } from '../../lib/config.js'

const ADMIN_TOKEN = 'operator-token-for-tests-0123456789abcdef'
const json = { accept: 'application/json' }
const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() })

async function signIn (url: string, token = ADMIN_TOKEN): Promise<Response> {
  const { body, ...headers } = form({ token })
  return await fetch(`${url}/admin/login`, { method: 'POST', headers, body, redirect: 'manual' })
}
const sessionCookie = (response: Response) => response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
const csrfIn = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? ''

t.test('without ADMIN_TOKEN the operator routes do not exist', async (t) => {
  const gw = await startGateway(t)
  for (const [method, path] of [['GET', '/admin'], ['GET', '/admin/connections'], ['POST', '/admin/login'], ['GET', `/admin/connections/${crypto.randomUUID()}/delete`]]) {
    const res = await fetch(gw.url + path, { method, headers: { ...json, authorization: `Bearer ${ADMIN_TOKEN}` } })
    t.equal(res.status, 404, `${method} ${path}`)
  }
})

t.test("the operator's session cookie is Secure when PUBLIC_URL is https", async (t) => {
  const gw = await startGateway(t, { PUBLIC_URL: 'https://gw.example.org', ADMIN_TOKEN })
  const { body, ...headers } = form({ token: ADMIN_TOKEN })
  const login = await gw.app.inject({ method: 'POST', url: '/admin/login', payload: body, headers })
  t.equal(login.statusCode, 303)
  t.match(login.headers['set-cookie'], /; Secure; SameSite=Strict$/)
})

t.test('ADMIN_TOKEN must be long enough to resist guessing', async (t) => {
  t.throws(() => loadConfig({ HEALOW_CLIENT_ID: 'x', PUBLIC_URL: 'https://gw.example.org', ADMIN_TOKEN: 'short-token' }), /ADMIN_TOKEN/)
})

t.test('the operator API and pages', async (t) => {
  const stack = await startStack(t, { env: { ADMIN_TOKEN } })
  const { gw, sim } = stack
  const patients = [await connectPatient(stack, { practiceId: sim.practices[0]!.id }), await connectPatient(stack, { practiceId: sim.practices[1]!.id }), await connectPatient(stack, { practiceId: sim.practices[2]!.id })]
  // Two sessions, made before any test spends the sign-in rate limit.
  const session = sessionCookie(await signIn(gw.url))
  const otherSession = sessionCookie(await signIn(gw.url))

  t.test('GET /admin/connections: only with the token, paged, no secret in it', async (t) => {
    for (const authorization of [undefined, `Bearer ${ADMIN_TOKEN}x`, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, `bearer ${ADMIN_TOKEN}`, `Basic ${ADMIN_TOKEN}`, `Bearer ${patients[0]!.key}`]) {
      const res = await fetch(`${gw.url}/admin/connections`, { headers: { ...json, ...(authorization ? { authorization } : {}) } })
      t.equal(res.status, 401, `refused: ${authorization?.slice(0, 12) ?? 'no header'}…`)
      t.match((await res.json() as { message: string }).message, /ADMIN_TOKEN/)
    }
    const first = await fetch(`${gw.url}/admin/connections?limit=2`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    t.equal(first.status, 200)
    const text = await first.text()
    const page = JSON.parse(text) as { items: Array<{ id: string, practiceName: string, patientId: string, claimed: boolean, status: string }>, total: number, nextCursor?: string }
    t.equal(page.total, 3)
    t.same(page.items.map((c) => c.id), [patients[2]!.connectionId, patients[1]!.connectionId], 'newest first')
    t.equal(page.items[0]!.practiceName, sim.practices[2]!.name, 'the practice by name')
    t.match(page.items[0], { status: 'active', claimed: true, patientId: sim.practices[2]!.patientId })
    t.notMatch(text, /hsk_|eyJ|ciphertext|keyHash|tokens/, 'no key, token or ciphertext')
    const second = await (await fetch(`${gw.url}/admin/connections?limit=2&cursor=${page.nextCursor}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as typeof page
    t.same(second.items.map((c) => c.id), [patients[0]!.connectionId])
    t.notOk(second.nextCursor, 'the last page')
    const bad = await fetch(`${gw.url}/admin/connections?cursor=bm90LWEtY3Vyc29y`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    t.equal(bad.status, 400)
    t.match((await bad.json() as { message: string }).message, /cursor/)
  })

  t.test('sign-in: a session cookie that is HttpOnly, SameSite=Strict, on /admin; a wrong token refused', async (t) => {
    const page = await fetch(`${gw.url}/admin`)
    t.equal(page.status, 401, 'no session: 401 and the sign-in form')
    t.match(await page.text(), /<form method="post" action="\/admin\/login">/)
    const wrong = await signIn(gw.url, ADMIN_TOKEN + 'x')
    t.equal(wrong.status, 401)
    t.match(await wrong.text(), /That token is not right/)
    t.same(wrong.headers.getSetCookie(), [], 'no session for a wrong token')
    const right = await signIn(gw.url)
    t.equal(right.status, 303)
    t.equal(right.headers.get('location'), '/admin')
    const [cookie] = right.headers.getSetCookie()
    t.match(cookie, /^healow-admin-session=[^;]+; Max-Age=28800; Path=\/admin; HttpOnly; SameSite=Strict$/)
    t.notMatch(cookie, new RegExp(ADMIN_TOKEN), 'the cookie is not the token')
    const list = await fetch(`${gw.url}/admin`, { headers: { cookie: sessionCookie(right) } })
    t.equal(list.status, 200)
    t.match(list.headers.get('cache-control'), /no-store/)
    const html = await list.text()
    for (const p of sim.practices.slice(0, 3)) t.match(html, p.name, `lists ${p.name}`)
    // A tampered session (another nonce under the old signature) is no session.
    const [value] = sessionCookie(right).split('=').slice(1)
    const forged = value!.replace(/^[A-Za-z0-9_-]/, (c) => (c === 'A' ? 'B' : 'A'))
    t.equal((await fetch(`${gw.url}/admin`, { headers: { cookie: `healow-admin-session=${forged}` } })).status, 401, 'a tampered cookie')
  })

  t.test('delete: a confirmation, then a form that needs the session and its CSRF token', async (t) => {
    const victim = patients[1]!
    const confirm = await fetch(`${gw.url}/admin/connections/${victim.connectionId}/delete`, { headers: { cookie: session } })
    t.equal(confirm.status, 200, 'the confirmation page')
    const csrf = csrfIn(await confirm.text())
    const post = (fields: Record<string, string>, headers: Record<string, string> = {}) => {
      const { body, ...formHeaders } = form(fields)
      return fetch(`${gw.url}/admin/connections/${victim.connectionId}/delete`, { method: 'POST', headers: { ...formHeaders, ...headers }, body, redirect: 'manual' })
    }
    const still = async () => (await fetch(`${gw.url}/connections/${victim.connectionId}`, { headers: { authorization: `Bearer ${victim.key}` } })).status
    t.equal((await post({ csrf })).status, 401, 'no session cookie')
    t.equal((await post({ csrf: '' }, { cookie: session })).status, 403, 'no CSRF token')
    t.equal((await post({ csrf: csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A') }, { cookie: session })).status, 403, 'a near-miss CSRF token')
    t.equal((await post({ csrf: csrfIn(await (await fetch(`${gw.url}/admin`, { headers: { cookie: otherSession } })).text()) }, { cookie: session })).status, 403, "another session's CSRF token")
    t.equal((await post({ csrf }, { cookie: session, origin: 'https://evil.example.com' })).status, 403, 'a form from another site')
    t.equal((await post({ csrf }, { cookie: session, 'sec-fetch-site': 'cross-site' })).status, 403, 'a form a browser says came from another site')
    t.equal(await still(), 200, 'nothing was deleted by the refused forms')
    const done = await post({ csrf }, { cookie: session, origin: gw.url })
    t.equal(done.status, 303)
    t.equal(done.headers.get('location'), '/admin?deleted=1')
    t.equal(await still(), 401, 'the connection and its key are gone')
    t.equal((await post({ csrf }, { cookie: session })).status, 404, 'deleting it again: not found')
  })

  t.test('guessing the token is rate limited', async (t) => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await signIn(gw.url, 'guess-' + i)).status)
    t.ok(statuses.includes(429), `guessing is rate limited (${statuses.join(', ')})`)
  })
})

t.test('in Chromium: sign in, list, copy a reconnect link, delete', { skip: noChromium }, async (t) => {
  const stack = await startStack(t, { env: { ADMIN_TOKEN } })
  const { gw, sim } = stack
  const patients = [await connectPatient(stack, { practiceId: sim.practices[1]!.id }), await connectPatient(stack, { practiceId: sim.practices[3]!.id })]
  const browser = await launchChromium(t)
  const tab = await WatchedPage.open(t, browser, { origin: gw.url })
  await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url })
  const { page } = tab
  const dropFailedLoad = () => tab.consoleErrors.splice(0, tab.consoleErrors.length, ...tab.consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 40[13]/.test(e)))

  const unauthenticated = await page.goto(`${gw.url}/admin`)
  t.equal(unauthenticated?.status(), 401, 'no session: 401')
  dropFailedLoad()
  await tab.check(t, 'admin-sign-in')
  await page.getByLabel('Admin token').fill('not-the-token')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').waitFor()
  dropFailedLoad()
  await tab.check(t, 'admin-sign-in-wrong')
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${gw.url}/admin`)
  const table = page.locator('table')
  for (const p of [sim.practices[1]!, sim.practices[3]!]) t.ok(await table.getByRole('cell', { name: `${p.name} Code ${p.id}` }).isVisible(), `lists ${p.name} by name`)
  await tab.check(t, 'admin-connections')

  await page.getByRole('link', { name: `Reconnect link for ${sim.practices[1]!.name}, patient ${sim.practices[1]!.patientId}` }).click()
  await page.getByRole('button', { name: 'Copy link' }).click()
  await page.getByText('Copied.').waitFor()
  const link = await page.evaluate(() => navigator.clipboard.readText())
  t.equal(link, `${gw.url}/healow/connect?tenant=${sim.practices[1]!.id}`, 'the link starts connecting that practice')
  await tab.check(t, 'admin-reconnect-link')

  await page.goto(`${gw.url}/admin`)
  await page.getByRole('link', { name: `Delete ${sim.practices[3]!.name}, patient ${sim.practices[3]!.patientId}` }).click()
  await page.getByRole('heading', { name: 'Delete this connection?' }).waitFor()
  await tab.check(t, 'admin-delete-confirm')
  await page.getByRole('button', { name: 'Delete connection' }).click()
  await page.waitForURL(`${gw.url}/admin?deleted=1`)
  t.ok(await page.getByText('The connection was deleted.').isVisible())
  t.equal(await page.getByRole('cell', { name: `${sim.practices[3]!.name} Code ${sim.practices[3]!.id}` }).count(), 0, 'gone from the list')
  await tab.check(t, 'admin-deleted')
  const gone = await fetch(`${gw.url}/connections/${patients[1]!.connectionId}`, { headers: { authorization: `Bearer ${patients[1]!.key}` } })
  t.equal(gone.status, 401, 'its key no longer works')

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Admin token').waitFor()
  dropFailedLoad()
  t.equal((await page.goto(`${gw.url}/admin`))?.status(), 401, 'signed out')
})

t.test('in Chromium: the operator view is absent without ADMIN_TOKEN', { skip: noChromium }, async (t) => {
  const gw = await startGateway(t)
  const browser = await launchChromium(t)
  const tab = await WatchedPage.open(t, browser, { origin: gw.url })
  t.equal((await tab.page.goto(`${gw.url}/admin`))?.status(), 404)
  t.match(await tab.page.locator('h1').textContent(), /Not found/)
  tab.consoleErrors.length = 0
  await tab.check(t, 'admin-absent')
})
