// The practice directory in the shape Healow publishes it (its "activated clinical endpoints"
// Bundle): one Endpoint + one Organization per practice.
import type { FhirResource } from './fhir-types.js'
import type { Practice } from './practices.js'

export const DIRECTORY_PATH = '/directory/endpoints.json'

export function endpointsBundle (practices: Practice[], url: string): FhirResource {
  const entry = practices.flatMap((practice) => [
    {
      fullUrl: `${url}/Endpoint/${practice.id}`,
      resource: {
        resourceType: 'Endpoint',
        id: practice.id,
        status: 'active',
        connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' },
        name: practice.name,
        managingOrganization: { reference: `Organization/${practice.id}` },
        payloadType: [{ coding: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Patient' }] }],
        address: practice.fhirBase
      }
    },
    {
      fullUrl: `${url}/Organization/${practice.id}`,
      resource: {
        resourceType: 'Organization',
        id: practice.id,
        active: true,
        name: practice.name,
        endpoint: [{ reference: `Endpoint/${practice.id}` }]
      }
    }
  ])
  return { resourceType: 'Bundle', type: 'collection', total: entry.length, entry }
}
