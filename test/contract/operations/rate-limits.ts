import type { Test } from 'tap'
import { bearer, type ContractStack } from '../context.js'

const ATTEMPTS = 6

/**
 * 429 from the FHIR proxy and the relay, with Retry-After. Healow (the simulator) is set to one
 * request a minute, so the practice is held off for the rest of the minute: run last, on a
 * practice no other contract test uses.
 */
export async function rateLimitContracts (t: Test, { client, stack, connect }: ContractStack): Promise<void> {
  const api = client(t)
  const practice = stack.sim.practices[1]
  const patient = await connect(t, 1)
  stack.sim.setQuirks({ rateLimitPerMinute: 1 })
  t.teardown(() => stack.sim.setQuirks({ rateLimitPerMinute: null }))

  // Near a minute's end Healow's window may reset between two requests: try a few times.
  const until429 = async (call: () => Promise<{ response: Response }>) => {
    for (let i = 0; i < ATTEMPTS; i++) {
      const { response } = await call()
      if (response.status === 429) return response
    }
    return undefined
  }
  const fhir = await until429(() => api.GET('/fhir/{connectionId}/{fhirPath}', { params: { path: { connectionId: patient.connectionId, fhirPath: `Patient/${practice.patientId}` } }, headers: bearer(patient.key) }))
  t.ok(fhir?.headers.get('retry-after'), 'the FHIR proxy answers 429 with Retry-After')
  const relay = await until429(() => api.GET('/api/proxy', { params: { query: { vendor: 'healow', serviceId: practice.id, target: `Patient/${practice.patientId}` } }, headers: { origin: stack.gw.config.PUBLIC_URL, authorization: 'Bearer some-healow-token' } }))
  t.ok(relay?.headers.get('retry-after'), 'the relay answers 429 with Retry-After')
}
