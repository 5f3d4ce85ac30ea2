import t from 'tap'
import { PracticeLinks } from '../../lib/fhir/bundle-links.js'
import { parsePracticeBase } from '../../lib/fhir/target.js'
import { pick as pickFrom, randomInt, seededRandom } from '../../simulator/prng.js'

const GATEWAY = 'https://gw.example.org/fhir/conn-1'
const links = new PracticeLinks(parsePracticeBase('https://fhir4.healow.com/fhir/r4/JAFJCD'),
  ['http://fhir4.eclinicalworks.com', 'https://fhir4.eclinicalworks.com'], GATEWAY)

t.test('links into the practice point back through the gateway, on every alias host and scheme', async (t) => {
  const cases: Array<[string, string]> = [
    ['https://fhir4.healow.com/fhir/r4/JAFJCD/Observation/1', `${GATEWAY}/Observation/1`],
    ['http://fhir4.healow.com/fhir/r4/JAFJCD/Observation/1', `${GATEWAY}/Observation/1`],
    ['http://fhir4.eclinicalworks.com/fhir/r4/JAFJCD?_getpages=Observation.x&_getpagesoffset=10&_count=10', `${GATEWAY}?_getpages=Observation.x&_getpagesoffset=10&_count=10`],
    ['https://fhir4.eclinicalworks.com/fhir/r4/JAFJCD/', GATEWAY],
    ['https://fhir4.healow.com/fhir/r4/JAFJCD/Observation?patient=1#frag', `${GATEWAY}/Observation?patient=1`],
    ['Observation?patient=1', `${GATEWAY}/Observation?patient=1`]
  ]
  for (const [link, expected] of cases) t.equal(links.rewrite(link), expected, link)
})

t.test('links anywhere else are dropped', async (t) => {
  for (const link of [
    'https://evil.example/fhir/r4/JAFJCD/Observation',
    'https://fhir4.healow.com/fhir/r4/BHDGCD/Observation',
    'https://fhir4.healow.com/fhir/r4/JAFJCDX/Observation',
    'https://fhir4.healow.com/fhir/r4/JAFJCD/../BHDGCD/Patient',
    'https://fhir4.healow.com/fhir/r4/JAFJCD/%2e%2e/BHDGCD/Patient',
    'https://fhir4.healow.com/fhir/r4/JAFJCD/Patient%2f..%2f..',
    'https://fhir4.healow.com:8443/fhir/r4/JAFJCD/Patient',
    'https://user:pw@fhir4.healow.com/fhir/r4/JAFJCD/Patient',
    'https://oauthserver.eclinicalworks.com/oauth/oauth2/token',
    '//evil.example/fhir/r4/JAFJCD/Patient',
    '../BHDGCD/Patient',
    'javascript:alert(1)',
    'https://fhir4.healow.com/fhir/r4/JAFJCD/NotAType/1'
  ]) t.equal(links.rewrite(link), undefined, link)
})

t.test('a Bundle gets its links and fullUrls rewritten, foreign ones removed, urn fullUrls kept', async (t) => {
  const bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    link: [
      { relation: 'self', url: 'http://fhir4.eclinicalworks.com/fhir/r4/JAFJCD/Observation?patient=1' },
      { relation: 'next', url: 'http://fhir4.eclinicalworks.com/fhir/r4/JAFJCD?_getpages=a&_getpagesoffset=10' },
      { relation: 'related', url: 'https://evil.example/steal' }
    ],
    entry: [
      { fullUrl: 'http://fhir4.eclinicalworks.com/fhir/r4/JAFJCD/Observation/1', resource: { resourceType: 'Observation', id: '1' } },
      { fullUrl: 'https://evil.example/Observation/2', resource: { resourceType: 'Observation', id: '2' } },
      { fullUrl: 'urn:uuid:8c2f3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b', resource: { resourceType: 'Observation' } },
      { resource: { resourceType: 'Bundle', link: [{ relation: 'self', url: 'https://evil.example/x' }] } }
    ]
  }
  links.rewriteBundle(bundle)
  t.same(bundle.link, [
    { relation: 'self', url: `${GATEWAY}/Observation?patient=1` },
    { relation: 'next', url: `${GATEWAY}?_getpages=a&_getpagesoffset=10` }
  ])
  t.equal(bundle.entry[0].fullUrl, `${GATEWAY}/Observation/1`)
  t.notOk('fullUrl' in bundle.entry[1], 'foreign fullUrl removed')
  t.equal(bundle.entry[2].fullUrl, 'urn:uuid:8c2f3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b')
  t.same((bundle.entry[3].resource as { link: unknown[] }).link, [], 'nested Bundle links too')
})

t.test('links in shapes FHIR does not allow are vetted or dropped, never passed on as they came', async (t) => {
  const bundle = {
    resourceType: 'Bundle',
    link: { relation: 'next', url: 'https://evil.example/steal' },
    entry: { fullUrl: 'https://evil.example/Observation/1', link: { url: 'https://evil.example/x' }, resource: { resourceType: 'Observation', id: '1' } }
  }
  links.rewriteBundle(bundle)
  t.notOk('link' in bundle, 'a link object instead of a list is dropped')
  t.same(bundle.entry, { resource: { resourceType: 'Observation', id: '1' } }, 'a lone entry object keeps its resource, loses its foreign URLs')
  const inside = { resourceType: 'Bundle', entry: { fullUrl: 'http://fhir4.eclinicalworks.com/fhir/r4/JAFJCD/Observation/1' } }
  links.rewriteBundle(inside)
  t.same(inside.entry, { fullUrl: `${GATEWAY}/Observation/1` }, 'and gets its practice URL rewritten')
})

t.test('a practice on a non-default port keeps its scheme', async (t) => {
  const local = new PracticeLinks(parsePracticeBase('http://127.0.0.1:4000/fhir/r4/JAFJCD'), ['http://127.0.0.1:4001'], GATEWAY)
  t.equal(local.rewrite('http://127.0.0.1:4001/fhir/r4/JAFJCD/Patient/1'), `${GATEWAY}/Patient/1`)
  t.equal(local.rewrite('https://127.0.0.1:4000/fhir/r4/JAFJCD/Patient/1'), undefined)
  t.equal(local.rewrite('http://127.0.0.1:4002/fhir/r4/JAFJCD/Patient/1'), undefined)
})

t.test("links spelled as Healow spells them are rewritten exactly as the URL parser's way would", async (t) => {
  // An upper-case scheme sends the same link down the URL parser's way: both ways must agree.
  const viaParser = (link: string) => link.replace(/^http/, 'HTTP')
  const segments = ['Observation', 'Patient', 'Patient', '1', 'a-b.c', '$everything', '%24everything', '_history', '..', '.', '%2e%2e', '%2E', '%2f', 'é', '@x', "it's", 'a^b', '', 'a b']
  const parameters = ['patient=1', '_count=10', 'date=ge2024-01-01T00%3A00%3A00Z', 'code=a|b,c', 'x=%zz', 'a=b#frag', "q='x'", 'x=é', 'x=a+b', 'x=a^b', 'x=~!*:', '_getpages=7f3c-a1&_getpagesoffset=10']
  const dice = seededRandom('links test')
  const random = (n: number) => randomInt(dice, 0, n - 1)
  const pick = <T>(list: T[]) => pickFrom(dice, list)
  const origins = ['https://fhir4.healow.com', 'http://fhir4.healow.com', 'http://fhir4.eclinicalworks.com']
  let rewritten = 0
  for (let i = 0; i < 5000; i++) {
    const path = Array.from({ length: random(4) }, () => `/${pick(segments)}`).join('')
    const query = random(2) === 0 ? '' : `?${Array.from({ length: 1 + random(3) }, () => pick(parameters)).join('&')}`
    const link = `${pick(origins)}/fhir/r4/JAFJCD${path}${query}`
    const direct = links.rewrite(link)
    if (direct !== undefined) rewritten++
    if (direct !== links.rewrite(viaParser(link))) t.fail(`${link}: ${direct} against ${links.rewrite(viaParser(link))}`)
  }
  t.ok(rewritten > 1000, `${rewritten} of 5000 random links were rewritten, the rest refused, and both ways agreed on each`)
})
