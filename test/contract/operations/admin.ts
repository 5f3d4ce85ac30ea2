import type { Test } from 'tap'
import { bearer, type ContractStack } from '../context.js'

/** The operator's list of connections: paged, and only with ADMIN_TOKEN. */
export async function adminContracts (t: Test, { client, stack, patient }: ContractStack): Promise<void> {
  const api = client(t)
  const token = stack.gw.config.ADMIN_TOKEN ?? ''
  const first = await api.GET('/admin/connections', { params: { query: { limit: 1 } }, headers: bearer(token) })
  t.equal(first.data?.items.length, 1, 'one per page')
  t.ok(first.data?.nextCursor, 'more to come')
  const all = await api.GET('/admin/connections', { headers: bearer(token) })
  t.ok(all.data?.items.some((c) => c.id === patient.connectionId && c.practiceName === stack.sim.practices[0]?.name), 'the connected patient, with the practice name')
  t.equal((await api.GET('/admin/connections', {})).response.status, 401, 'no token')
  t.equal((await api.GET('/admin/connections', { headers: bearer(patient.key) })).response.status, 401, "a connection key is not the operator's token")
  t.equal((await api.GET('/admin/connections', { params: { query: { cursor: 'forged' } }, headers: bearer(token) })).response.status, 400, 'a cursor it did not hand out')
}
