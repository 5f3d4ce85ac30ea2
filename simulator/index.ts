// The Healow simulator: start it with `await startSimulator({ ...knobs })`.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expireAccessTokens } from './access-tokens.js'
import { buildSimulatorApp } from './app.js'
import { createAuthorizationServer, OAUTH_PATHS } from './authorization-server.js'
import { registerClients } from './clients.js'
import type { CounterSnapshot } from './counters.js'
import { DIRECTORY_PATH } from './directory.js'
import { checkChanges, type ChangedIds, type RecordChanges } from './patient-records.js'
import { resolveOptions, type Faults, type Quirks, type SimulatorOptions } from './options.js'
import type { Practice } from './practices.js'
import { applySettings } from './runtime-settings.js'
import { createState, resetCounters } from './state.js'

export type { CounterSnapshot } from './counters.js'
export type { Faults, Quirks, SimulatorOptions } from './options.js'
export type { Practice } from './practices.js'
export type { RecordChanges, ChangedIds } from './patient-records.js'
export { PatientBrowser, followLogin } from './browser.js'

export interface Simulator {
  /** `http://{host}:{port}` */
  url: string
  authorizeUrl: string
  tokenUrl: string
  jwksUrl: string
  /** A FHIR Bundle of Endpoint + Organization, one pair per practice. */
  directoryUrl: string
  /** Origin of the alias host that Bundle links point at while the aliasHostLinks quirk is on. */
  aliasBase: string
  practices: Practice[]
  clients: { public: { clientId: string }; confidential: { clientId: string; clientSecret: string } }
  /** Live objects: changing a field changes the behaviour at once. */
  quirks: Quirks
  faults: Faults
  setQuirks (quirks: Partial<Quirks>): void
  setFaults (faults: Partial<Faults>): void
  /** Adds, updates and deletes resources of a practice's patient (changes between syncs); answers the `Type/id`s. */
  changeRecords (practiceId: string, changes: RecordChanges): ChangedIds
  /** Force-expires one access token, or every access token issued so far. */
  expireAccessTokens (accessToken?: string): void
  counters (): CounterSnapshot & { resetCounters (): void }
  /** Clears counters and rate-limit windows. */
  resetCounters (): void
  close (): Promise<void>
}

export async function startSimulator (simulatorOptions: SimulatorOptions = {}): Promise<Simulator> {
  const options = resolveOptions(simulatorOptions)
  const main = await listen(options.port, options.host)
  // The alias host is a second listener on its own port serving the same routes.
  const alias = await listen(0, options.host)
  const origin = (server: Server) => `http://${urlHost(options.host)}:${(server.address() as AddressInfo).port}`
  const state = createState(options, origin(main), origin(alias))
  const clients = registerClients(options.redirectUris, options.seed)
  const authorizationServer = await createAuthorizationServer(state, clients)
  const app = await buildSimulatorApp(state, authorizationServer, clients)
  for (const server of [main, alias]) server.on('request', app.routing)

  const change = (target: Quirks | Faults, patch: unknown) => {
    const problem = applySettings(target, patch)
    if (problem) throw new TypeError(problem)
  }
  return {
    url: state.url,
    authorizeUrl: `${state.url}${OAUTH_PATHS.authorize}`,
    tokenUrl: `${state.url}${OAUTH_PATHS.token}`,
    jwksUrl: `${state.url}${OAUTH_PATHS.jwks}`,
    directoryUrl: `${state.url}${DIRECTORY_PATH}`,
    aliasBase: state.aliasBase,
    practices: state.practices,
    clients: { public: clients.public, confidential: clients.confidential },
    quirks: state.quirks,
    faults: state.faults,
    setQuirks: (quirks) => change(state.quirks, quirks),
    setFaults: (faults) => change(state.faults, faults),
    expireAccessTokens: (accessToken) => expireAccessTokens(state, accessToken),
    changeRecords: (practiceId, changes) => {
      const problem = checkChanges(changes)
      const practice = state.practiceById(practiceId)
      if (problem || !practice) throw new TypeError(problem ?? `no practice ${practiceId}`)
      return state.records(practice).change(changes)
    },
    counters: () => ({ ...state.counters.snapshot(), resetCounters: () => resetCounters(state) }),
    resetCounters: () => resetCounters(state),
    async close () {
      await Promise.all([main, alias].map(closeServer))
      await app.close()
    }
  }
}

function listen (port: number, host: string): Promise<Server> {
  const server = createServer()
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}

function closeServer (server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

/** A host to put in URLs: a wildcard bind is reached on the loopback address. */
function urlHost (host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}
