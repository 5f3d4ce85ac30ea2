import t from 'tap'
import { startGateway } from '../helpers/app.js'
import { connectPatient, startStack } from '../helpers/connect.js'
import { syncStatus, waitForSync } from '../helpers/sync.js'
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
// Syncs start only when asked, so what a test sees is what it started.
const ON_DEMAND = { SYNC_INTERVAL_HOURS: '0' }

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
  const stack = await startStack(t, { env: { ADMIN_TOKEN, ...ON_DEMAND } })
  const { gw, sim } = stack
  const patients = [
    await connectPatient(stack, { practiceId: sim.practices[0]!.id }),
    await connectPatient(stack, { practiceId: sim.practices[1]!.id }),
    await connectPatient(stack, { practiceId: sim.practices[2]!.id })
  ]
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
    const page = JSON.parse(text) as {
      items: Array<{ id: string, practiceName: string, patientId: string, claimed: boolean, status: string }>,
      total: number,
      nextCursor?: string
    }
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

  t.test('sync now: a form that needs the session, its CSRF token and our origin; the list shows the result', async (t) => {
    const [target, blocked] = [patients[0]!, patients[2]!]
    const practiceId = sim.practices[0]!.id
    type LastSync = { status: string, startedAt: string, finishedAt: string | null, error?: string } | null
    const operatorList = async () => await (await fetch(`${gw.url}/admin/connections`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as {
      items: Array<{ id: string, lastSync: LastSync }>
    }
    const lastSyncOf = async (id: string) => (await operatorList()).items.find((c) => c.id === id)?.lastSync
    t.equal(await lastSyncOf(target.connectionId), null, 'never synced: lastSync is null')
    t.match(await (await fetch(`${gw.url}/admin`, { headers: { cookie: session } })).text(), /<td>Never<\/td>/)
    const csrf = csrfIn(await (await fetch(`${gw.url}/admin`, { headers: { cookie: session } })).text())
    const post = (id: string, fields: Record<string, string>, headers: Record<string, string> = {}) => {
      const { body, ...formHeaders } = form(fields)
      return fetch(`${gw.url}/admin/connections/${id}/sync`, { method: 'POST', headers: { ...formHeaders, ...headers }, body, redirect: 'manual' })
    }
    const fhirRequests = () => sim.counters().fhir[practiceId] ?? 0
    const before = fhirRequests()
    const nearOrigin = new URL(gw.url)
    nearOrigin.port = String(Number(nearOrigin.port) + 1)
    t.equal((await post(target.connectionId, { csrf })).status, 401, 'no session cookie')
    t.equal((await post(target.connectionId, { csrf: '' }, { cookie: session })).status, 403, 'no CSRF token')
    const nearCsrf = csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A')
    t.equal((await post(target.connectionId, { csrf: nearCsrf }, { cookie: session })).status, 403, 'a near-miss CSRF token')
    t.equal((await post(target.connectionId, { csrf }, { cookie: session, origin: 'https://evil.example.com' })).status, 403, 'another site')
    t.equal((await post(target.connectionId, { csrf }, { cookie: session, origin: nearOrigin.origin })).status, 403, 'our host on another port')
    t.equal((await syncStatus(gw.url, target.connectionId, target.key)).status, 'idle', 'the refused forms started nothing')
    t.equal(fhirRequests(), before, 'nothing reached Healow')
    t.equal((await post(crypto.randomUUID(), { csrf }, { cookie: session, origin: gw.url })).status, 404, 'an unknown connection')

    const started = await post(target.connectionId, { csrf }, { cookie: session, origin: gw.url })
    t.equal(started.status, 303)
    t.equal(started.headers.get('location'), '/admin?sync=started')
    t.match(await (await fetch(`${gw.url}/admin?sync=started`, { headers: { cookie: session } })).text(), /role="status">Sync started\.</)
    const done = await waitForSync(gw.url, target.connectionId, target.key, (s) => s.status !== 'running')
    t.equal(done.status, 'succeeded', JSON.stringify(done.lastError))
    t.ok(fhirRequests() > before, 'the sync read from Healow')
    const lastSync = await lastSyncOf(target.connectionId)
    t.match(lastSync, { status: 'succeeded', startedAt: String, finishedAt: String })
    t.notOk(lastSync && 'error' in lastSync, 'no error on success')
    t.ok(Date.parse(lastSync!.finishedAt!) >= Date.parse(lastSync!.startedAt))
    t.match(await (await fetch(`${gw.url}/admin`, { headers: { cookie: session } })).text(), /Succeeded/)

    // A slow Healow keeps the next run going: a second Sync now finds it running and starts nothing.
    sim.setFaults({ latencyMs: 300 })
    t.equal((await post(target.connectionId, { csrf }, { cookie: session, origin: gw.url })).headers.get('location'), '/admin?sync=started')
    const again = await post(target.connectionId, { csrf }, { cookie: session, origin: gw.url })
    t.equal(again.headers.get('location'), '/admin?sync=running', 'a second press while it runs')
    t.match(await lastSyncOf(target.connectionId), { status: 'running', finishedAt: null })
    const running = await (await fetch(`${gw.url}/admin?sync=running`, { headers: { cookie: session } })).text()
    t.match(running, /role="status">A sync is already running\.</)
    t.match(running, /class="badge">Running</)
    sim.setFaults({ latencyMs: 0 })
    const second = await waitForSync(gw.url, target.connectionId, target.key, (s) => s.status !== 'running')
    t.not(second.syncId, done.syncId, 'a new run')
    t.equal(second.status, 'succeeded')

    // A dead grant met by the sync: it fails, the connection needs the patient again, so its button is disabled.
    sim.expireAccessTokens()
    sim.setFaults({ invalidGrantOnNextRefresh: true })
    t.equal((await post(blocked.connectionId, { csrf }, { cookie: session, origin: gw.url })).headers.get('location'), '/admin?sync=started')
    const failed = await waitForSync(gw.url, blocked.connectionId, blocked.key, (s) => s.status !== 'running')
    t.equal(failed.status, 'failed')
    t.match(await lastSyncOf(blocked.connectionId), { status: 'failed', finishedAt: String, error: /log in at Healow again/ }, 'failed, and why')
    const html = await (await fetch(`${gw.url}/admin`, { headers: { cookie: session } })).text()
    t.match(html, /Failed<\/span>\n<span class="hint"><br><time[^>]*>[^<]*<\/time><br>The patient must log in at Healow again/, 'the list says why')
    t.match(html, new RegExp(`disabled aria-describedby="sync-blocked-${blocked.connectionId}"`), 'its Sync now is disabled')
    t.match(html, new RegExp(`id="sync-blocked-${blocked.connectionId}" class="hint">Needs the patient's new login first`), 'with the reason')
    const refused = await post(blocked.connectionId, { csrf }, { cookie: session, origin: gw.url })
    t.equal(refused.status, 409)
    t.match(await refused.text(), /log in at Healow again/)
    t.match(await syncStatus(gw.url, blocked.connectionId, blocked.key), { status: 'failed', syncId: failed.syncId }, 'no sync started')
  })

  t.test('guessing the token is rate limited', async (t) => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await signIn(gw.url, 'guess-' + i)).status)
    t.ok(statuses.includes(429), `guessing is rate limited (${statuses.join(', ')})`)
  })
})

t.test('in Chromium: sign in, list, sync now, copy a reconnect link, delete', { skip: noChromium }, async (t) => {
  const stack = await startStack(t, { env: { ADMIN_TOKEN, ...ON_DEMAND } })
  const { gw, sim } = stack
  const patients = [
    await connectPatient(stack, { practiceId: sim.practices[1]!.id }),
    await connectPatient(stack, { practiceId: sim.practices[3]!.id })
  ]
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

  await page.getByRole('button', { name: `Sync now ${sim.practices[1]!.name}, patient ${sim.practices[1]!.patientId}` }).click()
  await page.waitForURL(`${gw.url}/admin?sync=started`)
  t.ok(await page.getByRole('status').getByText('Sync started.').isVisible(), 'the notice')
  await tab.check(t, 'admin-sync-started')
  const synced = await waitForSync(gw.url, patients[0]!.connectionId, patients[0]!.key, (s) => s.status !== 'running')
  t.equal(synced.status, 'succeeded', 'the sync of that connection ran')
  await page.goto(`${gw.url}/admin`)
  t.ok(await page.getByText('Succeeded').isVisible(), 'the list shows its result')
  await tab.check(t, 'admin-synced')

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
