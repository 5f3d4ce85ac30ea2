import type { Test } from 'tap'
import createClient, { defaultPathSerializer, type Client, type PathSerializer } from 'openapi-fetch'
import type { paths } from '../../clients/healow-sync.js'
import type { ContractCoverage } from './coverage.js'
import type { ContractDocument } from './document.js'

export type HealowSyncClient = Client<paths>

/**
 * `fhirPath` is a FHIR path with slashes (`Patient/123/$everything`); OpenAPI path parameters
 * cannot say so, so a client keeps its slashes and `$` and encodes each segment on its own.
 */
export const fhirPathSerializer: PathSerializer = (pathname, { fhirPath, ...params }) => {
  const path = typeof fhirPath === 'string'
    ? pathname.replace('{fhirPath}', fhirPath.split('/').map((s) => encodeURIComponent(s).replace(/^%24/, '$')).join('/'))
    : pathname
  return defaultPathSerializer(path, params)
}

/**
 * The generated client as a third party would build it, plus one middleware that checks every
 * response against the document (as an assertion of the test that made the call) and records
 * the operation as covered.
 */
export function contractClient (
  t: Test,
  baseUrl: string,
  contract: { document: ContractDocument, coverage: ContractCoverage }
): HealowSyncClient {
  const client = createClient<paths>({
    baseUrl,
    pathSerializer: fhirPathSerializer,
    // The FHIR operations' `search` object is `style: form, explode: true`: its members are the query parameters.
    querySerializer: { object: { style: 'form', explode: true } }
  })
  client.use({
    async onResponse ({ request, response, schemaPath }) {
      const check = await contract.document.check(request.method, schemaPath, response.clone())
      contract.coverage.record({ method: request.method, path: schemaPath, status: response.status, check })
      t.same(check.problems, [], `${request.method} ${schemaPath} → ${response.status} ${check.mediaType ?? '(no body)'} as documented`)
      return undefined
    }
  })
  return client
}
