import type { Test } from 'tap'
import type { ContractStack } from '../context.js'

/** Health, readiness, instance configuration and the document itself. */
export async function serviceContracts (t: Test, { client, stack }: ContractStack): Promise<void> {
  const api = client(t)
  t.equal((await api.GET('/health')).response.status, 200)
  t.equal((await api.GET('/ready')).response.status, 200)
  const config = await api.GET('/api/v1/instance-config')
  t.equal(config.data?.HEALOW_CONFIDENTIAL_MODE, stack.mode === 'confidential', 'the mode is reported')
  const served = await api.GET('/openapi.json')
  t.equal((served.data as { openapi?: string } | undefined)?.openapi, '3.1.0', 'the served document is OpenAPI 3.1')
}
