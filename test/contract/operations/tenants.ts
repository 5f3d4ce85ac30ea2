import type { Test } from 'tap'
import type { ContractStack } from '../context.js'

/** The practice directory, native and in Mere's shape. */
export async function tenantContracts (t: Test, { client, stack }: ContractStack): Promise<void> {
  const api = client(t)
  const practice = stack.sim.practices[0]
  const first = await api.GET('/tenants', { params: { query: { limit: 2 } } })
  t.ok(first.data?.nextCursor, 'a first page with a cursor')
  const next = await api.GET('/tenants', { params: { query: { limit: 2, cursor: first.data?.nextCursor } } })
  t.equal(next.response.status, 200)
  const found = await api.GET('/tenants', { params: { query: { q: practice.name.split(' ')[1], limit: 5 } } })
  t.ok(found.data?.items.some((p) => p.id === practice.id), 'a search finds the practice')
  t.equal((await api.GET('/tenants', { params: { query: { limit: 1000 } } })).response.status, 400, 'limit out of range')

  t.equal((await api.GET('/tenants/{id}', { params: { path: { id: practice.id } } })).data?.fhirBase, practice.fhirBase)
  t.equal((await api.GET('/tenants/{id}', { params: { path: { id: 'NOSUCH' } } })).response.status, 404)

  for (const path of ['/api/v1/healow/tenants', '/api/v1/healow/r4/tenants'] as const) {
    const listed = await api.GET(path, { params: { query: { query: practice.id } } })
    t.equal(listed.data?.[0]?.url, practice.fhirBase, `${path} finds the practice by id`)
    t.equal((await api.GET(path, { params: { query: { query: 'x'.repeat(300) } } })).response.status, 400, `${path}: query too long`)
  }
}
