import { PatientBrowser, isHealowCallback } from '../../simulator/browser.js'
import type { HealowSyncClient } from './client.js'
import { handoffFromPage } from '../../lib/pages/connect-result.js'

/**
 * startConnect through the generated client: Healow's login URL, and the gateway's cookies
 * that the callback will need.
 */
export async function startConnecting (
  client: HealowSyncClient,
  practiceId: string,
  returnTo?: string
): Promise<{ healowLogin: URL, cookie: string }> {
  const { response } = await client.GET('/healow/connect', { params: { query: { tenant: practiceId, return_to: returnTo } }, redirect: 'manual' })
  const location = response.headers.get('location')
  if (response.status !== 302 || !location) throw new Error(`startConnect answered ${response.status}`)
  return { healowLogin: new URL(location), cookie: response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') }
}

/** The patient logs in at Healow (the simulator, headless); the query Healow sends back to the callback. */
export async function loginAtHealow (healowLogin: URL): Promise<Record<string, string>> {
  const login = await new PatientBrowser().followUntil(healowLogin, isHealowCallback)
  if (!isHealowCallback(login.finalUrl)) throw new Error(`login stopped at ${login.finalUrl}`)
  return Object.fromEntries(login.finalUrl.searchParams)
}

/** The page finishConnect redirects the browser to, read with the result cookie it set (a page, outside the API). */
export async function resultPage (callback: Response): Promise<string> {
  const location = callback.headers.get('location')
  if (callback.status !== 303 || !location) return ''
  const cookie = callback.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  return await (await fetch(new URL(location, callback.url), { headers: { cookie } })).text()
}

/**
 * What a third-party app does to connect a patient, through the generated client: start, let the
 * patient log in at Healow, take the handoff code from the callback page, and claim the
 * connection and its key.
 */
export async function connectThroughClient (client: HealowSyncClient, practiceId: string): Promise<{
  connectionId: string,
  key: string,
  patientId: string
}> {
  const { healowLogin, cookie } = await startConnecting(client, practiceId)
  const back = await client.GET('/healow/callback', { params: { query: await loginAtHealow(healowLogin) }, headers: { cookie }, redirect: 'manual' })
  const handoff = handoffFromPage(await resultPage(back.response))
  if (!handoff) throw new Error(`finishConnect answered ${back.response.status} without a handoff code`)
  const claimed = await client.POST('/connections/claim', { body: { handoff } })
  if (!claimed.data) throw new Error(`claimConnection answered ${claimed.response.status}`)
  return {
    connectionId: claimed.data.connection.id,
    key: claimed.data.key,
    patientId: claimed.data.connection.patientId
  }
}
