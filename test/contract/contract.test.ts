import t from 'tap'
import { openContract, startContractStack } from './context.js'
import { undocumentedRoutes } from './routes.js'
import { connectionContracts } from './operations/connections.js'
import { fhirContracts } from './operations/fhir.js'
import { mereContracts } from './operations/mere.js'
import { rateLimitContracts } from './operations/rate-limits.js'
import { serviceContracts } from './operations/service.js'
import { tenantContracts } from './operations/tenants.js'
import { adminContracts } from './operations/admin.js'
import { syncContracts } from './operations/sync.js'

// Every call goes through the client generated from openapi.yaml, and every response is checked
// against the document (status, Content-Type, headers, body schema) as it arrives.
const contract = openContract()

t.test('confidential mode', async (t) => {
  const stack = await startContractStack(t, contract, 'confidential')
  await t.test('service', (t) => serviceContracts(t, stack))
  await t.test('practice directory', (t) => tenantContracts(t, stack))
  await t.test('connections', (t) => connectionContracts(t, stack))
  await t.test('FHIR proxy', (t) => fhirContracts(t, stack))
  await t.test('sync', (t) => syncContracts(t, stack))
  await t.test('Mere compatibility', (t) => mereContracts(t, stack))
  await t.test('rate limits', (t) => rateLimitContracts(t, stack))
  await t.test('operator', (t) => adminContracts(t, stack))
  t.same(undocumentedRoutes(stack.stack.gw.app, contract.document.operations()), [], 'the gateway answers no route the document does not describe')
})

t.test('public mode', async (t) => {
  const stack = await startContractStack(t, contract, 'public')
  await t.test('service', (t) => serviceContracts(t, stack))
  await t.test('connections', (t) => connectionContracts(t, stack))
  await t.test('Mere compatibility', (t) => mereContracts(t, stack))
})

t.test('every operation in the document has a contract test', async (t) => {
  const uncovered = contract.coverage.uncovered(contract.document).map((op) => `${op.method} ${op.path} (${op.operationId})`)
  t.same(uncovered, [], `${contract.document.operations().length} operations, ${uncovered.length} uncovered`)
  t.comment(`statuses exercised per operation: ${JSON.stringify(contract.coverage.summary())}`)
})

t.test('every error status is exercised, the FHIR proxy and the relay answering OperationOutcome', async (t) => {
  const { coverage } = contract
  for (const status of [400, 401, 403, 404, 405, 429]) t.ok(coverage.responses.some((r) => r.status === status), `some operation answered ${status}`)
  for (const status of [400, 401, 404, 405, 429]) {
    t.ok(['readFhir', 'readFhirBase', 'searchFhir'].some((id) => coverage.saw(id, status, 'OperationOutcome')), `the FHIR proxy answered ${status} with an OperationOutcome`)
  }
  for (const status of [400, 401, 403, 404, 405, 429]) {
    t.ok(['mereProxyGet', 'mereProxyPost'].some((id) => coverage.saw(id, status, 'OperationOutcome')), `the relay answered ${status} with an OperationOutcome`)
  }
})
