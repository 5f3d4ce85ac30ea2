import t from 'tap'
import { NO_METRICS } from '../../lib/metrics.js'
import { freePort, startGateway } from '../helpers/app.js'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'

/** The value of one sample line, e.g. `healow_sync_connections{status="active"}`; 0 when absent. */
function sample (text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

t.test('/metrics on METRICS_PORT: the counters move with a connect, a refresh and reads; no patient, id, token or key in it', async (t) => {
  const metricsPort = await freePort()
  const stack = await startStack(t, { env: { METRICS_PORT: String(metricsPort) } })
  const scrape = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /^text\/plain/)
    return await res.text()
  }
  const before = await scrape()
  t.equal(sample(before, 'healow_sync_connections', { status: 'active' }), 0)
  t.match(before, /# HELP healow_sync_sync_runs_total /, 'sync metrics are declared before the sync engine uses them')
  t.match(before, /# HELP healow_sync_sync_duration_seconds /)

  const { connectionId, key, claim } = await connectPatient(stack)
  const practice = stack.sim.practices[0].id
  const patientId = (claim.connection as { patientId: string }).patientId
  t.equal((await fetch(`${stack.gw.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })).status, 200)
  const reads = [`Observation?patient=${patientId}`, `Patient/${patientId}`, `Condition?patient=${patientId}`]
  for (const path of reads) t.equal((await fetch(`${stack.gw.url}/fhir/${connectionId}/${path}`, { headers: bearer(key) })).status, 200, path)
  t.equal((await fetch(`${stack.gw.url}/fhir/${connectionId}/Patient/${patientId}`)).status, 401, 'a read without the key')
  t.equal((await fetch(`${stack.gw.url}/metrics`)).status, 404, 'the public port does not serve metrics')

  const text = await scrape()
  t.equal(sample(text, 'healow_sync_http_requests_total', { method: 'GET', route: '/fhir/*', status: '200' }), reads.length)
  t.equal(sample(text, 'healow_sync_http_requests_total', { method: 'GET', route: '/fhir/*', status: '401' }), 1)
  t.equal(sample(text, 'healow_sync_http_requests_total', { method: 'POST', route: '/connections/claim', status: '201' }), 1)
  t.equal(sample(text, 'healow_sync_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 1, 'an unknown path is one label, not its URL')
  t.equal(sample(text, 'healow_sync_token_refreshes_total', { outcome: 'refreshed' }), 1)
  t.equal(sample(text, 'healow_sync_upstream_duration_seconds_count', { practice, kind: 'fhir', status: '2xx' }), reads.length)
  t.equal(sample(text, 'healow_sync_upstream_duration_seconds_count', { practice, kind: 'token', status: '2xx' }), 1)
  // The reads and the refresh's token call each took a slot; the claim and the login did not pass the budget.
  t.equal(sample(text, 'healow_sync_budget_requests_total', { practice, decision: 'granted' }), reads.length + 1)
  t.equal(sample(text, 'healow_sync_connections', { status: 'active' }), 1)
  t.equal(sample(text, 'healow_sync_connections', { status: 'reauth_required' }), 0)

  const { tokens } = (await stack.gw.app.vault.read(connectionId))!
  const secrets = {
    connectionId,
    patientId,
    key,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken!,
    idToken: tokens.idToken!,
    clientSecret: stack.sim.clients.confidential.clientSecret
  }
  for (const [name, secret] of Object.entries(secrets)) t.notOk(text.includes(secret), `no ${name} in the metrics`)
  // Near misses: a fragment of the key or token, or the patient id inside a longer value, is just as bad.
  for (const secret of [key.slice(4, 20), tokens.accessToken.slice(-24)]) t.notOk(text.includes(secret), 'no fragment of a credential')
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404)
})

t.test('without METRICS_PORT nothing is counted and nothing more listens', async (t) => {
  const gw = await startGateway(t)
  t.equal(gw.app.metrics, NO_METRICS)
})
