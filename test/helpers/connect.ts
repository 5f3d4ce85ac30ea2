import { PatientBrowser, isHealowCallback } from '../../simulator/browser.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js'
import { gatewaySettings } from '../../simulator/cli-options.js'
import type { BuildOptions } from '../../app.js'
import { collectDirectory } from '../../lib/directory/collect.js'
import { startGateway, untilDirectoryReady, type TestGateway } from './app.js'
import type { StoreUnderTest } from './stores.js'
import { handoffFromPage } from '../../lib/pages/connect-result.js'

type Test = Parameters<typeof startGateway>[0]
export type Mode = 'public' | 'confidential'

export interface Stack {
  sim: Simulator
  gw: TestGateway
  mode: Mode
}

export interface StackOptions {
  mode?: Mode
  simulator?: SimulatorOptions
  /** The vault's database: a fresh one of this store; by default SQLite in the gateway's DATA_DIR. */
  store?: StoreUnderTest
  env?: Record<string, string> | ((sim: Simulator) => Record<string, string>)
  build?: Omit<BuildOptions, 'logStream'>
}

/** The settings that point a gateway at the simulator, as an operator would set them (three URLs and the client). */
export function simulatorSettings (sim: Simulator, mode: Mode = 'confidential'): Record<string, string> {
  return gatewaySettings(sim, mode, { aliasHosts: false })
}

/**
 * The gateway wired to a fresh simulator, exactly as an operator would with three URLs.
 * `env` may depend on the simulator (e.g. FHIR_ALIAS_HOSTS = its alias origin). The directory is
 * read in the test's own process: a process of its own, started with TypeScript compiled on the fly,
 * took ~0.4 s per stack, and these tests are about what comes after it (the import process has tests
 * of its own, and every test of `node dist/server.js` uses it).
 */
export async function startStack (t: Test, { mode = 'confidential', simulator = {}, store, env = {}, build = {} }: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator({ autoLogin: true, ...simulator })
  t.teardown(() => sim.close())
  const gw = await startGateway(t, {
    ...(store ? { DATABASE_URL: await store.databaseUrl(t) } : {}),
    ...simulatorSettings(sim, mode),
    ...(typeof env === 'function' ? env(sim) : env)
  }, { directory: { collect: collectDirectory }, ...build })
  await untilDirectoryReady(gw)
  return { sim, gw, mode }
}

/** What the login walk needs: the simulator and a gateway's address (an in-process or a separate gateway). */
export type LoginStack = { sim: Simulator, gw: { url: string } }

/** Walks the patient's browser from /healow/connect through Healow's login back to the callback. */
export async function loginAtHealow (
  stack: LoginStack,
  {
    practiceId = stack.sim.practices[0].id,
    returnTo,
    browser = new PatientBrowser()
  }: { practiceId?: string, returnTo?: string, browser?: PatientBrowser } = {}
) {
  const query = new URLSearchParams({ tenant: practiceId, ...(returnTo ? { return_to: returnTo } : {}) })
  const walk = await browser.followUntil(`${stack.gw.url}/healow/connect?${query}`, isHealowCallback)
  if (!isHealowCallback(walk.finalUrl)) throw new Error(`login stopped at ${walk.finalUrl} (${walk.response?.status})`)
  return { browser, callbackUrl: walk.finalUrl }
}

export interface Connected {
  connectionId: string
  key: string
  claim: Record<string, unknown>
}

/**
 * The callback in the patient's browser, then the page it redirects to (the address bar loses
 * Healow's code and state); a refused callback answers itself, with no redirect.
 */
export async function finishAtCallback (browser: PatientBrowser, callbackUrl: URL): Promise<{
  status: number,
  html: string,
  redirected: boolean
}> {
  const callback = await browser.get(callbackUrl)
  const location = callback.headers.get('location')
  if (callback.status !== 303 || !location) {
    return {
      status: callback.status,
      html: await callback.text(),
      redirected: false
    }
  }
  const page = await browser.get(new URL(location, callbackUrl))
  return { status: page.status, html: await page.text(), redirected: true }
}

/** Login and callback: the one-time handoff code the result page shows the patient. */
export async function handoffFor (stack: LoginStack, options: { practiceId?: string } = {}): Promise<string> {
  const { browser, callbackUrl } = await loginAtHealow(stack, options)
  const page = await finishAtCallback(browser, callbackUrl)
  const handoff = handoffFromPage(page.html)
  if (page.status !== 200 || !handoff) throw new Error(`callback answered ${page.status}: ${page.html.slice(0, 300)}`)
  return handoff
}

/** The whole flow: login, callback, claim. */
export async function connectPatient (stack: LoginStack, options: { practiceId?: string } = {}): Promise<Connected> {
  const handoff = await handoffFor(stack, options)
  const claimed = await fetch(`${stack.gw.url}/connections/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff }) })
  const claim = await claimed.json() as { key: string, connection: { id: string } }
  if (claimed.status !== 201) throw new Error(`claim answered ${claimed.status}: ${JSON.stringify(claim)}`)
  return { connectionId: claim.connection.id, key: claim.key, claim }
}

export function bearer (key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` }
}
