import t, { type Test } from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { parseDirectoryBundle, parseFhirBase } from '../../lib/directory/bundle.js'
import { bundleOf, shuffleEntries, syntheticBundle, type DirectoryBundle } from '../helpers/synthetic-bundle.js'

const OAUTH = { authorizeUrl: 'https://oauth.example/authorize', tokenUrl: 'https://oauth.example/token' }
const REAL_DIRECTORY = new URL('../../../shared/fixtures/healow-endpoints-bundle.json', import.meta.url)

t.test('a FHIR base is https://host/fhir/r4/{code} and nothing else', async (t) => {
  t.same(parseFhirBase('https://fhir4.healow.com/fhir/r4/JAFJCD'), { fhirBase: 'https://fhir4.healow.com/fhir/r4/JAFJCD' })
  t.same(parseFhirBase(' https://FHIR4.healow.com:443/fhir/r4/WELLMED/ '), { fhirBase: 'https://fhir4.healow.com/fhir/r4/WELLMED' },
    'host lower-cased, default port and one trailing slash dropped')
  t.same(parseFhirBase(undefined), { reason: 'no address' })
  t.same(parseFhirBase('  '), { reason: 'no address' })
  t.same(parseFhirBase('fhir4.healow.com/fhir/r4/ABCDEF'), { reason: 'not a URL' })
  t.same(parseFhirBase('http://fhir4.healow.com/fhir/r4/ABCDEF'), { reason: 'not https' })
  t.same(parseFhirBase('ftp://fhir4.healow.com/fhir/r4/ABCDEF'), { reason: 'not https' })
  for (const address of [
    'https://fhir4.healow.com/fhir/r4/', 'https://fhir4.healow.com/fhir/r4', 'https://fhir4.healow.com/fhir/dstu2/ABCDEF',
    'https://fhir4.healow.com/api/fhir/r4/ABCDEF', 'https://fhir4.healow.com/fhir/r4/ABCDEF/Patient',
    'https://fhir4.healow.com/fhir/r4/ABC?x=1', 'https://fhir4.healow.com/fhir/r4/ABC#x', 'https://u:p@fhir4.healow.com/fhir/r4/ABC',
    'https://fhir4.healow.com/fhir/r4/AB%20C'
  ]) t.same(parseFhirBase(address), { reason: 'not a FHIR base' }, address)
  t.same(parseFhirBase('http://127.0.0.1:8080/fhir/r4/SIM001'), { reason: 'not https' })
  t.same(parseFhirBase('http://127.0.0.1:8080/fhir/r4/SIM001', { allowLoopbackHttp: true }), { fhirBase: 'http://127.0.0.1:8080/fhir/r4/SIM001' })
  t.same(parseFhirBase('http://example.org/fhir/r4/SIM001', { allowLoopbackHttp: true }), { reason: 'not https' })
})

t.test('an Endpoint and an Organization with the same id make one practice, the Organization naming it', async (t) => {
  const organizationFirst: DirectoryBundle = {
    resourceType: 'Bundle',
    type: 'collection',
    total: 2,
    entry: [
      { fullUrl: 'o', resource: { resourceType: 'Organization', id: 'ABCDEF', name: '  Ocean   Allergy ' } },
      { fullUrl: 'e', resource: { resourceType: 'Endpoint', id: 'ABCDEF', status: 'active', name: 'Old name', address: 'https://fhir4.healow.com/fhir/r4/ABCDEF' } }
    ]
  }
  const { practices, skipped } = parseDirectoryBundle(organizationFirst, OAUTH)
  t.same(practices, [{ id: 'ABCDEF', name: 'Ocean Allergy', fhirBase: 'https://fhir4.healow.com/fhir/r4/ABCDEF', ...OAUTH }])
  t.same(skipped, {})
})

t.test('bad entries are skipped and counted by reason, never fatal', async (t) => {
  const bundle = bundleOf([
    { id: 'GOOD01', name: 'Good Practice', address: 'https://fhir4.healow.com/fhir/r4/GOOD01' },
    { id: 'NOADDR', name: 'No Address' },
    { id: 'PLAIN1', name: 'Plain Http', address: 'http://fhir4.healow.com/fhir/r4/PLAIN1' },
    { id: 'NOTFHR', name: 'Not Fhir', address: 'https://example.org/portal' },
    { id: 'NOTURL', name: 'Not A Url', address: 'fhir4 healow com' }
  ])
  bundle.entry.push(
    { fullUrl: 'x', resource: { resourceType: 'Organization', id: 'LONELY', name: 'Organization without Endpoint' } },
    { fullUrl: 'x', resource: { resourceType: 'Endpoint', id: 'OFF001', status: 'off', address: 'https://fhir4.healow.com/fhir/r4/OFF001' } },
    { fullUrl: 'x', resource: { resourceType: 'Endpoint', address: 'https://fhir4.healow.com/fhir/r4/NOID01' } },
    { fullUrl: 'x', resource: { resourceType: 'Location', id: 'L1' } },
    { fullUrl: 'x', resource: { resourceType: 'Endpoint', id: 'NONAME', address: 'https://fhir4.healow.com/fhir/r4/NONAME' } },
    { fullUrl: 'x', resource: { resourceType: 'Endpoint', id: 'GOOD01', name: 'Twin', address: 'https://fhir4.healow.com/fhir/r4/ZZZZZZ' } }
  )
  ;(bundle.entry as unknown[]).push(null, { fullUrl: 'no resource' })
  const { practices, skipped, entryCount } = parseDirectoryBundle(bundle, OAUTH)
  t.same(practices.map((p) => [p.id, p.name, p.fhirBase]), [
    ['GOOD01', 'Good Practice', 'https://fhir4.healow.com/fhir/r4/GOOD01'],
    ['NONAME', 'NONAME', 'https://fhir4.healow.com/fhir/r4/NONAME']
  ], 'a nameless practice is kept under its id; duplicates resolve by content')
  t.same(skipped, {
    'no address': 1,
    'not https': 1,
    'not a FHIR base': 1,
    'not a URL': 1,
    'no endpoint': 1,
    'endpoint not active': 1,
    'no id': 1,
    'other resource type': 1,
    'duplicate id': 1,
    'not a resource': 2
  })
  t.equal(entryCount, bundle.entry.length)
})

t.test('a document that is not a Bundle is rejected as a whole', async (t) => {
  t.throws(() => parseDirectoryBundle({ resourceType: 'Patient' }, OAUTH), { name: 'DirectoryFormatError' })
  t.throws(() => parseDirectoryBundle([], OAUTH), { name: 'DirectoryFormatError' })
  t.throws(() => parseDirectoryBundle({ resourceType: 'Bundle', entry: {} }, OAUTH), { name: 'DirectoryFormatError' })
  t.same(parseDirectoryBundle({ resourceType: 'Bundle' }, OAUTH).practices, [])
})

function checkOrderIndependence (t: Test, bundle: DirectoryBundle, expectedPractices: number): void {
  const inOrder = parseDirectoryBundle(bundle, OAUTH)
  t.equal(inOrder.practices.length, expectedPractices)
  for (const seed of [1, 2, 3]) {
    t.same(parseDirectoryBundle(shuffleEntries(bundle, seed), OAUTH), inOrder, `shuffled with seed ${seed}: same directory`)
  }
}

t.test('the same entries in any order give the same directory (generated)', async (t) => {
  const bundle = syntheticBundle(2000, 7)
  // Conflicting twins and nameless Organizations are where an order-dependent parser would differ.
  bundle.entry.push(
    { fullUrl: 'x', resource: { resourceType: 'Endpoint', id: 'TWIN01', name: 'Twin B', address: 'https://fhir4.healow.com/fhir/r4/TWINBB' } },
    { fullUrl: 'x', resource: { resourceType: 'Endpoint', id: 'TWIN01', name: 'Twin A', address: 'https://fhir4.healow.com/fhir/r4/TWINAA' } },
    { fullUrl: 'x', resource: { resourceType: 'Organization', id: 'TWIN01', name: 'Twin Org Z' } },
    { fullUrl: 'x', resource: { resourceType: 'Organization', id: 'TWIN01', name: 'Twin Org A' } }
  )
  checkOrderIndependence(t, bundle, 2001)
  t.match(parseDirectoryBundle(bundle, OAUTH).practices.find((p) => p.id === 'TWIN01'),
    { name: 'Twin Org A', fhirBase: 'https://fhir4.healow.com/fhir/r4/TWINAA' })
})

t.test('the real Healow directory yields 6,919 practices in any order', { skip: existsSync(REAL_DIRECTORY) ? false : 'no ../shared/fixtures (fresh clone)' }, async (t) => {
  const bundle = JSON.parse(readFileSync(REAL_DIRECTORY, 'utf8')) as DirectoryBundle
  checkOrderIndependence(t, bundle, 6919)
  t.same(parseDirectoryBundle(bundle, OAUTH).skipped, {})
})
