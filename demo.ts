import path from 'node:path'
import { buildApp } from './app.js'
import { loadConfig } from './lib/config.js'
import { startupProblem } from './lib/startup-problems.js'
import { PatientBrowser, isHealowCallback } from './simulator/browser.js'
import { startSimulator } from './simulator/index.js'
import { gatewaySettings } from './simulator/cli-options.js'
import { handoffFromPage } from './lib/pages/connect-result.js'

/*
 * The demo: a local Healow simulator and the gateway wired to it (confidential mode, SQLite vault
 * under ./data/demo), then one demo patient connected end to end so there is something to read.
 * Ports: PORT (gateway, default 3000) and SIMULATOR_PORT (default 3001); DATA_DIR (default data/demo).
 */
const port = Number(process.env.PORT ?? 3000)
const simulatorPort = Number(process.env.SIMULATOR_PORT ?? 3001)
const publicUrl = `http://127.0.0.1:${port}`

/** A port in use (or the like) ends the demo with one line naming the setting to change. */
function stopOnStartupProblem (err: unknown): never {
  const problem = startupProblem(err, { PORT: port, SIMULATOR_PORT: simulatorPort })
  if (problem === undefined) throw err
  process.stderr.write(`npm run demo cannot start: ${problem}\n`)
  process.exit(1)
}

const sim = await startSimulator({ port: simulatorPort, autoLogin: false }).catch(stopOnStartupProblem)
const config = loadConfig({
  // What `npm run simulator` prints, so the demo pages through searches as an operator's gateway would.
  ...gatewaySettings(sim, 'confidential'),
  PUBLIC_URL: publicUrl,
  PORT: String(port),
  DATA_DIR: process.env.DATA_DIR ?? path.join('data', 'demo'),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn'
})
const app = await buildApp(config)
await app.listen({ port, host: '127.0.0.1' }).catch(async (err: unknown) => {
  await Promise.all([app.close(), sim.close()])
  stopOnStartupProblem(err)
})
for (let i = 0; i < 100 && !app.tenantDirectory.status().ready; i++) {
  await new Promise((resolve) => setTimeout(resolve, 50))
}

// Connect the first demo patient the way a browser would: gateway → simulator login → callback.
const practice = sim.practices[0]
const browser = new PatientBrowser()
const walk = await browser.followUntil(`${publicUrl}/healow/connect?tenant=${practice.id}`, isHealowCallback, { requestFinal: true, login: practice.login })
// The callback redirects to the page that shows the code (the cookie it set goes along).
const result = await browser.get(new URL(walk.response!.headers.get('location') ?? '/', publicUrl))
const handoff = handoffFromPage(await result.text())
const claim = await fetch(`${publicUrl}/connections/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handoff }) })
const { connection, key } = await claim.json() as { connection: { id: string, patientId: string }, key: string }

// The gateway's own sync of that patient's records, as it runs weekly; wait for it to finish.
await app.sync.start(connection.id)
await app.sync.settled(connection.id)
const synced = await app.sync.status(connection.id)
const types = Object.entries(synced.progress.types)
const skipped = types.filter(([, p]) => p.status !== 'done').map(([type]) => type)

process.stdout.write(`
healow-sync demo is running (Ctrl-C stops it)
  gateway    ${publicUrl}   (API docs: ${publicUrl}/docs)
  simulator  ${sim.url}   (a local stand-in for Healow; practices: ${sim.practices.map((p) => p.id).join(', ')})

A demo patient of ${practice.name} is connected, and synced:
  Sync ${synced.status}: ${synced.progress.resources} resources over ${types.length} types in ${synced.progress.requests} requests to Healow${skipped.length > 0 ? ` (skipped: ${skipped.join(', ')})` : ''}

Read their records:
  curl -H 'Authorization: Bearer ${key}' '${publicUrl}/fhir/${connection.id}/Patient/${connection.patientId}'
  curl -H 'Authorization: Bearer ${key}' '${publicUrl}/fhir/${connection.id}/Observation?patient=${connection.patientId}'
  curl -H 'Authorization: Bearer ${key}' '${publicUrl}/connections/${connection.id}'
  curl -H 'Authorization: Bearer ${key}' '${publicUrl}/connections/${connection.id}/records?limit=5'   (the synced records)

Connect another patient yourself: open ${publicUrl}/ in a browser, find ${sim.practices[1]?.name ?? practice.name},
press Connect, log in as ${sim.practices[1]?.login ?? practice.login}, then claim the code the page shows:
  curl -X POST -H 'content-type: application/json' -d '{"handoff":"<code>"}' ${publicUrl}/connections/claim
`)

const stop = async () => {
  await app.close()
  await sim.close()
  process.exit(0)
}
process.once('SIGINT', () => { void stop() })
process.once('SIGTERM', () => { void stop() })
