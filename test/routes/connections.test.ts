import t from 'tap'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'

for (const mode of ['public', 'confidential'] as const) {
  t.test(`${mode} mode: connect, claim, status`, async (t) => {
    const stack = await startStack(t, { mode })
    const practice = stack.sim.practices[0]
    const { connectionId, key, claim } = await connectPatient(stack)
    t.match(key, /^hsk_[A-Za-z0-9_-]{43}$/, '256-bit key')
    t.match(claim, { connection: { id: connectionId, practiceId: practice.id, patientId: practice.patientId, status: 'active', refreshable: mode === 'confidential' } })
    const status = await fetch(`${stack.gw.url}/connections/${connectionId}`, { headers: bearer(key) })
    t.equal(status.status, 200)
    const body = await status.json() as { scopes: string[], fhirUrl: string }
    t.ok(body.scopes.includes('patient/Observation.read'))
    t.equal(body.scopes.includes('offline_access'), mode === 'confidential')
    t.equal(body.fhirUrl, `${stack.gw.url}/fhir/${connectionId}`)
    t.equal(status.headers.get('cache-control'), 'no-store')
  })
}
