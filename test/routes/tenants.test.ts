import t from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { syntheticBundle } from '../helpers/synthetic-bundle.js'
import { startGateway, tempDir } from '../helpers/app.js'
import { startStack } from '../helpers/connect.js'

type Page = {
  items: Array<{ id: string, name: string, fhirBase: string, authorizeUrl: string, tokenUrl: string }>,
  total: number,
  nextCursor?: string
}

const dataDir = tempDir(t)
const file = path.join(dataDir, 'directory.json')
writeFileSync(file, JSON.stringify(syntheticBundle(250, 5)))
const gateway = await startGateway(t, { DATA_DIR: dataDir, HEALOW_DIRECTORY_URL: file })
await gateway.app.tenantDirectory.refresh()

async function get (url: string): Promise<{ status: number, body: any }> {
  const response = await fetch(`${gateway.url}${url}`)
  return { status: response.status, body: await response.json() }
}

/** Follows nextCursor to the end, returning every id in order. */
async function allPages (url: string): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | undefined
  do {
    const { body } = await get(`${url}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`) as { body: Page }
    ids.push(...body.items.map((item) => item.id))
    cursor = body.nextCursor
  } while (cursor !== undefined)
  return ids
}

t.test('GET /tenants lists every practice by name, page by page', async (t) => {
  const { status, body } = await get('/tenants?limit=7')
  t.equal(status, 200)
  t.equal(body.items.length, 7)
  t.equal(body.total, 250)
  t.type(body.nextCursor, 'string')
  t.same(Object.keys(body.items[0]).sort(), ['authorizeUrl', 'fhirBase', 'id', 'name', 'tokenUrl'])
  const ids = await allPages('/tenants?limit=40')
  t.equal(ids.length, 250)
  t.equal(new Set(ids).size, 250, 'no practice twice')
  t.same(ids.slice(0, 7), body.items.map((item: { id: string }) => item.id))
})

t.test('GET /tenants?q= pages through the ranked matches', async (t) => {
  const first = (await get('/tenants?q=md&limit=5')).body as Page
  t.ok(first.total > 10, `"md" matches ${first.total} practices`)
  t.ok(first.items.every((item) => /\bM\.?D/i.test(item.name)))
  const ids = await allPages('/tenants?q=md&limit=5')
  t.equal(ids.length, first.total)
  t.equal(new Set(ids).size, ids.length, 'no practice twice')
  t.same(ids.slice(0, 5), first.items.map((item) => item.id))
  t.same((await get('/tenants?q=zzzzzz')).body, { items: [], total: 0 })
})

t.test('GET /tenants refuses bad input with a clear 400', async (t) => {
  t.match(await get(`/tenants?q=${'x'.repeat(10_000)}`), { status: 400, body: { message: /256 characters/ } })
  t.match(await get('/tenants?limit=0'), { status: 400 })
  t.match(await get('/tenants?limit=101'), { status: 400 })
  t.match(await get('/tenants?cursor=garbage'), { status: 400, body: { message: /cursor is not one this service returned/ } })
})

t.test('GET /tenants/{id} finds a practice by id, case-insensitively, and 404s clearly', async (t) => {
  const { body: page } = await get('/tenants?limit=1') as { body: Page }
  const [practice] = page.items
  t.same((await get(`/tenants/${practice.id.toLowerCase()}`)).body, practice)
  const missing = await get('/tenants/NOSUCH')
  t.equal(missing.status, 404)
  t.match(missing.body, { statusCode: 404, message: 'No practice with id "NOSUCH" in the Healow directory; find ids with GET /tenants?q=' })
})

t.test('the tenant routes are in the OpenAPI document', async (t) => {
  const spec = gateway.app.swagger() as unknown as {
    paths: Record<string, Record<string, { operationId: string, tags: string[] }>>,
    components: { schemas: Record<string, unknown> }
  }
  t.match(spec.paths['/tenants'].get, { operationId: 'listTenants', tags: ['Tenants'] })
  t.match(spec.paths['/tenants/{id}'].get, { operationId: 'getTenant', tags: ['Tenants'] })
  t.match(spec.paths['/api/v1/healow/tenants'].get, { operationId: 'mereListTenants', tags: ['Mere compatibility'] })
  t.match(spec.paths['/api/v1/healow/r4/tenants'].get, { operationId: 'mereListR4Tenants', tags: ['Mere compatibility'] })
  for (const name of ['Tenant', 'TenantPage', 'MereTenant', 'MereTenantList']) t.ok(spec.components.schemas[name], `${name} is a named schema`)
})

t.test('GET /tenants/{id}?discover=true takes the OAuth URLs from the practice\'s SMART discovery', async (t) => {
  // The configured OAuth server differs from the simulator's, so the two answers can be told apart.
  const stack = await startStack(t, { env: { HEALOW_AUTHORIZE_URL: 'https://oauth.example.org/authorize', HEALOW_TOKEN_URL: 'https://oauth.example.org/token', LOG_LEVEL: 'error' } })
  const id = stack.sim.practices[0].id
  const shared = await (await fetch(`${stack.gw.url}/tenants/${id}`)).json()
  t.match(shared, { id, authorizeUrl: 'https://oauth.example.org/authorize', tokenUrl: 'https://oauth.example.org/token' })
  const discovered = await (await fetch(`${stack.gw.url}/tenants/${id}?discover=true`)).json()
  t.match(discovered, { id, authorizeUrl: stack.sim.authorizeUrl, tokenUrl: stack.sim.tokenUrl })
  t.equal((await fetch(`${stack.gw.url}/tenants/${id}?discover=maybe`)).status, 400)
})
