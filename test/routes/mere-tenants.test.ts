import t from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { bundleOf, syntheticBundle } from '../helpers/synthetic-bundle.js'
import { foldText } from '../../lib/directory/search-text.js'
import { startGateway, tempDir } from '../helpers/app.js'

type MereTenant = { id: string, name: string, url: string, token: string, authorize: string }

const dataDir = tempDir(t)
const file = path.join(dataDir, 'directory.json')
const directory = syntheticBundle(400, 3)
directory.entry.push(...bundleOf([{ id: 'HOSPCA', name: 'Hospital General Castañer INC', address: 'https://fhir4.healow.com/fhir/r4/HOSPCA' }]).entry)
writeFileSync(file, JSON.stringify(directory))
const gateway = await startGateway(t, { DATA_DIR: dataDir, HEALOW_DIRECTORY_URL: file })
await gateway.app.tenantDirectory.refresh()

for (const path of ['/api/v1/healow/tenants', '/api/v1/healow/r4/tenants']) {
  const tenants = async (query?: string): Promise<{ status: number, body: any }> => {
    const response = await fetch(`${gateway.url}${path}${query === undefined ? '' : `?query=${encodeURIComponent(query)}`}`)
    return { status: response.status, body: await response.json() }
  }

  t.test(`${path}: each tenant is { id, name, url, token, authorize }`, async (t) => {
    const { status, body } = await tenants('hospital castaner')
    t.equal(status, 200)
    t.same(body, [{
      id: 'HOSPCA',
      name: 'Hospital General Castañer INC',
      url: 'https://fhir4.healow.com/fhir/r4/HOSPCA',
      token: gateway.config.HEALOW_TOKEN_URL,
      authorize: gateway.config.HEALOW_AUTHORIZE_URL
    }])
  })

  t.test(`${path}: an empty query lists the first 100 by name`, async (t) => {
    for (const query of [undefined, '', '   ']) {
      const { body } = await tenants(query)
      t.equal(body.length, 100)
      const names = (body as MereTenant[]).map((tenant) => foldText(tenant.name))
      t.same(names, [...names].sort(), 'in name order')
    }
  })

  t.test(`${path}: a query returns at most the 50 best`, async (t) => {
    const { body } = await tenants('c')
    const native = await (await fetch(`${gateway.url}/tenants?q=c&limit=1`)).json() as { total: number }
    t.ok(native.total > 50, `"c" matches ${native.total} practices`)
    t.equal(body.length, 50)
    t.same((await tenants('cardilogy')).body.map((tenant: MereTenant) => tenant.name).every((name: string) => /cardiology/i.test(name)), true)
    t.same((await tenants('no such practice anywhere')).body, [])
  })

  t.test(`${path}: a 10,000-character query is refused at once`, async (t) => {
    const started = Date.now()
    const { status, body } = await tenants('cardiology '.repeat(910))
    t.equal(status, 400)
    t.match(body, { statusCode: 400, message: /must NOT have more than 256 characters/ })
    t.ok(Date.now() - started < 1000)
    t.match(await tenants('a b c d e f g h i'), { status: 400, body: { message: 'the query has more than 8 words' } })
  })
}
