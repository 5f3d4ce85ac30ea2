import type { Test } from 'tap'
import { bearer, type ContractStack } from '../context.js'

type Bundle = {
  resourceType: string,
  total?: number,
  entry?: unknown[],
  link?: Array<{ relation: string, url: string }>
}
type Outcome = { issue: Array<{ details?: { coding?: Array<{ code?: string }> } }> }

const gatewayCode = (body: unknown) => (body as Outcome | undefined)?.issue[0]?.details?.coding?.[0]?.code

/**
 * The FHIR proxy's three documented operations: reads, paging at the base, POST _search,
 * and their OperationOutcomes.
 */
export async function fhirContracts (t: Test, { client, patient, stack }: ContractStack): Promise<void> {
  const api = client(t)
  const { connectionId, key, patientId } = patient
  const read = (fhirPath: string, search?: Record<string, string>, headers = bearer(key)) =>
    api.GET('/fhir/{connectionId}/{fhirPath}', { params: { path: { connectionId, fhirPath }, query: { search } }, headers })

  t.equal(((await read(`Patient/${patientId}`)).data as { id?: string } | undefined)?.id, patientId, 'a read')
  // Discovery needs no key: the practice's CapabilityStatement.
  const metadata = await api.GET('/fhir/{connectionId}/metadata', { params: { path: { connectionId } } })
  t.equal((metadata.data as { resourceType?: string } | undefined)?.resourceType, 'CapabilityStatement')
  const noConnection = await api.GET('/fhir/{connectionId}/metadata', { params: { path: { connectionId: '00000000-0000-4000-8000-000000000000' } } })
  t.equal(gatewayCode(noConnection.error), 'not_found', '404 for an unknown connection')
  const search = await read('Observation', { patient: patientId })
  const bundle = search.data as Bundle
  const next = new URL(bundle.link?.find((l) => l.relation === 'next')?.url ?? '')
  t.equal(next.pathname, `/fhir/${connectionId}`, 'Healow pages at the base, and the link points through the gateway')
  const page = await api.GET('/fhir/{connectionId}', { params: { path: { connectionId }, query: { search: Object.fromEntries(next.searchParams) } }, headers: bearer(key) })
  t.equal((page.data as Bundle | undefined)?.resourceType, 'Bundle', 'the second page')

  const posted = await api.POST('/fhir/{connectionId}/{resourceType}/_search', {
    params: { path: { connectionId, resourceType: 'Observation' } },
    body: { patient: patientId },
    headers: { ...bearer(key), 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.equal((posted.data as Bundle | undefined)?.total, bundle.total, 'POST _search finds what GET finds')

  // Refusals: each an OperationOutcome carrying the gateway's code.
  t.equal(gatewayCode((await read('Patient/a@b')).error), 'forbidden_target', '400 outside the FHIR grammar')
  t.equal(gatewayCode((await read('Observation', { patient: patientId }, bearer('hsk_wrong-key-wrong-key-wrong-key'))).error), 'unauthorized', '401 wrong key')
  t.equal(gatewayCode((await read('NoSuchType')).error), 'not_found', '404 not a resource type')
  t.equal(gatewayCode((await read('Observation/_search')).error), 'method_not_allowed', '405 _search by GET')
  const unauthenticatedSearch = await api.POST('/fhir/{connectionId}/{resourceType}/_search', {
    params: { path: { connectionId, resourceType: 'Observation' } }, body: { patient: patientId }, headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.equal(gatewayCode(unauthenticatedSearch.error), 'unauthorized', '401 POST _search without a key')
  t.equal(gatewayCode((await api.GET('/fhir/{connectionId}', { params: { path: { connectionId } } })).error), 'unauthorized', '401 at the base')

  // Healow's own refusal passes through: it rejects _count on Observation searches.
  const healowRefusal = await read('Observation', { patient: patientId, _count: '5' })
  t.equal(healowRefusal.response.status, 400, "Healow's 400 passes through")

  stack.sim.setFaults({ errorRate: 1 })
  t.equal(gatewayCode((await read(`Patient/${patientId}`)).error), 'upstream_unavailable', '502 when Healow fails')
  stack.sim.setFaults({ errorRate: 0 })
}
