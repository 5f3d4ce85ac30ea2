import t from 'tap'
import { PracticeLinks } from '../../../lib/fhir/bundle-links.js'
import { parsePracticeBase } from '../../../lib/fhir/target.js'

/**
 * Look-alikes of a practice link that only a character-exact comparison tells apart: a host of the
 * same length, the base spelled as the URL parser reads it, escapes the fast way must not take.
 */
const GATEWAY = 'https://gw.example.org/fhir/conn-1'
const BASE = 'https://fhir4.healow.com/fhir/r4/JAFJCD'
const links = new PracticeLinks(parsePracticeBase(BASE), ['http://fhir4.eclinicalworks.com'], GATEWAY)

t.test('a link of the same length as the practice base, on another host or path, is dropped', async (t) => {
  for (const link of [
    'https://evil4.healow.com/fhir/r4/JAFJCD/Patient/1',
    'https://fhir4.healow.co/xfhir/r4/JAFJCD/Patient/1',
    'https://fhir4.healow.com/fhir/r4/BHDGCD/Patient/1',
    'https://fhir4.healow.com/fhir/r4/BHDGCD?_getpages=x',
    'http://fhir4.eclinicalworks.cam/fhir/r4/JAFJCD/Patient/1',
    'xhttps://fhir4.healow.com/fhir/r4/JAFJCD/Patient/1',
    'https://fhir4.healow.com/fhir/r4/JAFJCD/Patient/1'.split('').reverse().join('')
  ]) t.equal(links.rewrite(link), undefined, link)
})

t.test('the base spelled as the URL parser reads it is the base', async (t) => {
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCD'), GATEWAY)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCD/'), GATEWAY)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCD?_getpages=x'), `${GATEWAY}?_getpages=x`)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCDX'), undefined)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4'), undefined)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJC'), undefined)
})

t.test('escapes in a path are left to the grammar, which refuses them', async (t) => {
  for (const link of [
    `${BASE}/Patient/%2e%2e`,
    `${BASE}/Patient/1%2fx`,
    `${BASE}/Patient/a%40b`,
    `${BASE}/Patient/1;x`,
    `${BASE}/Patient/1@x`,
    `${BASE}/Patient/a'b`
  ]) t.equal(links.rewrite(link), undefined, link)
  t.equal(links.rewrite(`${BASE}/Patient/1/%24everything`), `${GATEWAY}/Patient/1/$everything`, 'but for %24')
  t.equal(links.rewrite(`${BASE}?code=a%7Cb`), `${GATEWAY}?code=a%7Cb`, 'and escapes in a query are decoded and encoded again')
})

t.test('a urn is kept only as an entry fullUrl: as a link it leads nowhere the gateway serves', async (t) => {
  const withheld: Array<{ relation: string, host: string }> = []
  const text = '{"resourceType":"Bundle","link":[{"relation":"next","url":"urn:uuid:1"}],' +
    '"entry":[{"fullUrl":"urn:uuid:2","link":[{"url":"urn:oid:3"}]}]}'
  type Rewritten = { link: unknown[], entry: Array<Record<string, unknown>> }
  const bundle = JSON.parse(links.rewriteBundleJson(text, withheld)!) as Rewritten
  t.same(bundle.link, [])
  t.same(bundle.entry[0], { fullUrl: 'urn:uuid:2', link: [] })
  t.same(withheld.map((w) => w.relation), ['next', 'unnamed'])
})

t.test("dots in a link's query or fragment are not dot segments", async (t) => {
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCD/Observation?code=a/../b'), `${GATEWAY}/Observation?code=a%2F..%2Fb`)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCD/Observation?code=./x#/../y'), `${GATEWAY}/Observation?code=.%2Fx`)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCD/Observation#/../y?z'), `${GATEWAY}/Observation`)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCD/Observation#a?/..'), `${GATEWAY}/Observation`)
  t.equal(links.rewrite('HTTPS://fhir4.healow.com/fhir/r4/JAFJCD/../JAFJCD/Observation?code=a'), undefined, 'in the path they are')
})
