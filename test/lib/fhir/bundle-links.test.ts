import t from 'tap'
import { PracticeLinks } from '../../../lib/fhir/bundle-links.js'
import { parsePracticeBase } from '../../../lib/fhir/target.js'
import type { WithheldLink } from '../../../lib/fhir/withheld-links.js'

const GATEWAY = 'https://gw.example.org/fhir/conn-1'
const BASE = 'https://fhir4.healow.com/fhir/r4/JAFJCD'
const ALIAS = 'http://fhir4.eclinicalworks.com'
const links = new PracticeLinks(parsePracticeBase(BASE), [ALIAS], GATEWAY)

t.test('the near misses of a practice link are dropped, on the fast way and on the URL parser\'s', async (t) => {
  for (const link of [
    `${BASE}X/Patient/1`,
    `${BASE}X`,
    `${BASE}?`.replace('JAFJCD?', 'JAFJC?'),
    'https://fhir4.healow.com/fhir/r4/BHDGCD/../JAFJCD/Patient/1',
    'HTTPS://fhir4.healow.com/fhir/r4/JAFJCD/Patient/../Observation',
    'https://fhir4.healow.com/fhir/r4/JAFJCD/./Patient/1',
    `${BASE}/Pat\tient/1`,
    `${BASE}/Patient/1\n`,
    `${BASE}/Patient/ 1`,
    `${BASE}/Patient/1\u007f`,
    `${BASE}\\Patient\\1`,
    'https://fhir4.healow.com\\fhir\\r4\\JAFJCD\\Patient\\1',
    'https://fhir4.healow.com.evil.example/fhir/r4/JAFJCD/Patient/1',
    'https://evil.example/fhir/r4/JAFJCD/Patient/1',
    'https://fhir4.healow.com:444/fhir/r4/JAFJCD/Patient/1',
    'http://fhir4.healow.com:443/fhir/r4/JAFJCD/Patient/1',
    'https://fhir4.eclinicalworks.com/fhir/r4/JAFJCD/Patient/1',
    'http://fhir4.eclinicalworks.com:8080/fhir/r4/JAFJCD/Patient/1',
    'https://x@fhir4.healow.com/fhir/r4/JAFJCD/Patient/1',
    'https://:pw@fhir4.healow.com/fhir/r4/JAFJCD/Patient/1',
    'HTTPS://x@fhir4.healow.com/fhir/r4/JAFJCD/Patient/1',
    'https://fhir4.healow.com/fhir/r4/Patient/1',
    'https://fhir4.healow.com/fhir/r4/JAFJCD/NotAType',
    '/fhir/r4/BHDGCD/Patient/1',
    '../BHDGCD/Patient/1',
    // Dot segments at the start of a relative link: the parser would resolve them (here back into
    // the base), and following them would be guessing.
    './Patient/1',
    '../JAFJCD/Patient/1',
    '%2e%2e/JAFJCD/Patient/1',
    '//evil.example/fhir/r4/JAFJCD/Patient/1',
    'http://['
  ]) t.equal(links.rewrite(link), undefined, JSON.stringify(link))
})

t.test('links the URL parser reads as the practice\'s are taken through the gateway', async (t) => {
  const cases: Array<[string, string]> = [
    [BASE, GATEWAY],
    [`${BASE}/`, GATEWAY],
    [`${BASE}?_getpages=x`, `${GATEWAY}?_getpages=x`],
    [`${BASE}/?_getpages=x`, `${GATEWAY}?_getpages=x`],
    ['HTTPS://FHIR4.HEALOW.COM/fhir/r4/JAFJCD/Patient/1', `${GATEWAY}/Patient/1`],
    ['https://fhir4.healow.com:443/fhir/r4/JAFJCD/Patient/1', `${GATEWAY}/Patient/1`],
    ['http://fhir4.healow.com/fhir/r4/JAFJCD/Patient/1', `${GATEWAY}/Patient/1`],
    [`${BASE}/#`, GATEWAY],
    [`${BASE}/Patient/1?#`, `${GATEWAY}/Patient/1`], // an empty query and an empty fragment
    [`${BASE}/Patient/1#x`, `${GATEWAY}/Patient/1`],
    [`${BASE}/Patient/1#/../x`, `${GATEWAY}/Patient/1`], // dots in the fragment alone: no part of the path
    [`${BASE}/Observation?code=a%20b#x?y`, `${GATEWAY}/Observation?code=a%20b`],
    [`${BASE}/Patient/1/%24everything`, `${GATEWAY}/Patient/1/$everything`],
    [`${BASE}/Observation?code=%C3%A9`, `${GATEWAY}/Observation?code=%C3%A9`],
    [`${BASE}/Observation?code=é`, `${GATEWAY}/Observation?code=%C3%A9`],
    ['/fhir/r4/JAFJCD/Patient/1', `${GATEWAY}/Patient/1`],
    ['Patient/1', `${GATEWAY}/Patient/1`],
    ['?_getpages=x', `${GATEWAY}?_getpages=x`]
  ]
  for (const [link, expected] of cases) t.equal(links.rewrite(link), expected, link)
  t.equal(links.rewrite(`${BASE}/Observation/_search`, 'POST'), `${GATEWAY}/Observation/_search`, 'a POST search, when the caller says so')
  t.equal(links.rewrite(`${BASE}/Observation/_search`), undefined, 'but not as a link to follow')
})

t.test('each practice has its own scope, however many share an origin or a base', async (t) => {
  const other = new PracticeLinks(parsePracticeBase('https://fhir4.healow.com/fhir/r4/BHDGCD'), [ALIAS], GATEWAY)
  const noAlias = new PracticeLinks(parsePracticeBase(BASE), [], GATEWAY)
  const otherAlias = new PracticeLinks(parsePracticeBase(BASE), ['https://mirror.example'], GATEWAY)
  t.equal(other.rewrite(`${BASE}/Patient/1`), undefined, "a sibling practice's link is not this one's")
  t.equal(other.rewrite('https://fhir4.healow.com/fhir/r4/BHDGCD/Patient/1'), `${GATEWAY}/Patient/1`)
  t.equal(links.rewrite('https://fhir4.healow.com/fhir/r4/BHDGCD/Patient/1'), undefined)
  t.equal(noAlias.rewrite(`${ALIAS}/fhir/r4/JAFJCD/Patient/1`), undefined, 'an alias is only for whom it is configured')
  t.equal(otherAlias.rewrite(`${ALIAS}/fhir/r4/JAFJCD/Patient/1`), undefined)
  t.equal(otherAlias.rewrite('https://mirror.example/fhir/r4/JAFJCD/Patient/1'), `${GATEWAY}/Patient/1`)
  t.equal(links.rewrite('https://mirror.example/fhir/r4/JAFJCD/Patient/1'), undefined)
  const atRoot = new PracticeLinks(parsePracticeBase('https://root.example'), [], GATEWAY)
  t.equal(atRoot.rewrite('https://root.example/Patient/1'), `${GATEWAY}/Patient/1`, 'a base at the host root')
  t.equal(atRoot.rewrite('http://root.example/Patient/1'), `${GATEWAY}/Patient/1`, 'on either scheme')
  const plainHttp = new PracticeLinks(parsePracticeBase('http://plain.example/r4'), [], GATEWAY)
  t.equal(plainHttp.rewrite('https://plain.example/r4/Patient/1'), `${GATEWAY}/Patient/1`, 'http turns https as well')
  const onPort = new PracticeLinks(parsePracticeBase('https://port.example:8443/r4'), [], GATEWAY)
  t.equal(onPort.rewrite('https://port.example:8443/r4/Patient/1'), `${GATEWAY}/Patient/1`)
  t.equal(onPort.rewrite('http://port.example:8443/r4/Patient/1'), undefined, 'another port keeps its scheme')
})

t.test('a Bundle parsed: links rewritten or withheld, each withheld one named in one outcome entry', async (t) => {
  const text = JSON.stringify({
    resourceType: 'Bundle',
    link: [{ relation: 'self', url: `${BASE}/Observation` }, { relation: 'next', url: 'https://evil.example/p2?access_token=s' }, 'x', { relation: 'up' }],
    entry: [
      { fullUrl: `${BASE}/Observation/1`, link: [{ url: '../BHDGCD/Patient' }], resource: { resourceType: 'Observation' } },
      { fullUrl: 'https://evil.example/Observation/2', resource: { resourceType: 'Observation' } },
      { fullUrl: 'urn:uuid:1' },
      { fullUrl: 7 },
      'not an entry'
    ]
  })
  const earlier: WithheldLink = { relation: 'earlier', host: 'before.example' }
  const withheld: WithheldLink[] = [earlier]
  type Rewritten = { link: unknown[], entry: Array<Record<string, any>> }
  const bundle = JSON.parse(links.rewriteBundleJson(text, withheld)!) as Rewritten
  t.same(bundle.link, [{ relation: 'self', url: `${GATEWAY}/Observation` }])
  t.same(bundle.entry.slice(0, 5), [
    { fullUrl: `${GATEWAY}/Observation/1`, link: [], resource: { resourceType: 'Observation' } },
    { resource: { resourceType: 'Observation' } },
    { fullUrl: 'urn:uuid:1' },
    { fullUrl: 7 },
    'not an entry'
  ])
  t.same(withheld, [earlier,
    { relation: 'next', host: 'evil.example' }, { relation: 'unnamed', host: 'no URL' }, { relation: 'up', host: 'no URL' },
    { relation: 'unnamed', host: 'fhir4.healow.com' }, { relation: 'fullUrl', host: 'evil.example' }])
  t.equal(bundle.entry.length, 6, 'one outcome entry more')
  const outcome = bundle.entry[5]
  t.equal(outcome.search.mode, 'outcome')
  t.match(outcome.resource.issue[0].details.text, /withheld 5 link\(s\)/, 'naming only what this Bundle lost')
  t.notMatch(JSON.stringify(bundle), /earlier|access_token|BHDGCD/)

  const kept: WithheldLink[] = [earlier]
  t.same(JSON.parse(links.rewriteBundleJsonByParsing(`{"resourceType":"Bundle","link":[{"url":"${BASE}/Patient/1"}]}`, kept)!),
    { resourceType: 'Bundle', link: [{ url: `${GATEWAY}/Patient/1` }] }, 'no outcome when nothing is withheld, whatever came before')
  t.same(kept, [earlier])
  t.equal(links.rewriteBundleJsonByParsing('{"resourceType":"Bundle",'), undefined, 'not JSON')
  t.equal(links.rewriteBundleJsonByParsing('[1]'), '[1]', 'JSON that is not a Bundle is left as it is')
  t.equal(links.rewriteBundleJsonByParsing('{"resourceType":"Patient","link":[{"url":"https://evil.example/"}]}'),
    '{"resourceType":"Patient","link":[{"url":"https://evil.example/"}]}')
})

t.test('an outcome entry joins whatever stood in entry', async (t) => {
  const foreign = { relation: 'next', url: 'https://evil.example/' }
  const none = JSON.parse(links.rewriteBundleJsonByParsing(JSON.stringify({ resourceType: 'Bundle', link: [foreign] }))!)
  t.equal(none.entry.length, 1, 'no entry: the outcome alone')
  const lone = JSON.parse(links.rewriteBundleJsonByParsing(JSON.stringify({ resourceType: 'Bundle', link: [foreign], entry: { resource: { id: 'a' } } }))!)
  t.same(lone.entry[0], { resource: { id: 'a' } }, 'a lone entry object is kept, first')
  t.equal(lone.entry.length, 2)
  const odd = JSON.parse(links.rewriteBundleJsonByParsing(JSON.stringify({ resourceType: 'Bundle', link: [foreign], entry: 'x' }))!)
  t.same(odd.entry[0], 'x')
  t.equal(odd.entry.length, 2)
})

t.test('links in shapes FHIR does not have are vetted or dropped', async (t) => {
  const withheld: WithheldLink[] = []
  const bundle: Record<string, any> = {
    resourceType: 'Bundle',
    link: { relation: 'next', url: `${BASE}/Patient/1` },
    entry: { fullUrl: `${BASE}/Patient/2`, link: 'x', resource: { resourceType: 'Bundle', link: { relation: 7 } } }
  }
  links.rewriteBundle(bundle, 0, withheld)
  t.notOk('link' in bundle, 'a link object, even a good one, is not a list of links')
  t.same(bundle.entry, { fullUrl: `${GATEWAY}/Patient/2`, resource: { resourceType: 'Bundle' } })
  t.same(withheld, [
    { relation: 'next', host: 'fhir4.healow.com' },
    { relation: 'unnamed', host: 'no URL' },
    { relation: 'unnamed', host: 'no URL' }
  ])
  const nullLink: Record<string, unknown> = { resourceType: 'Bundle', link: null }
  links.rewriteBundle(nullLink)
  t.notOk('link' in nullLink, 'a null link list is dropped')
  const noLink: Record<string, unknown> = { resourceType: 'Bundle', entry: [null, 1, { resource: null }] }
  links.rewriteBundle(noLink)
  t.same(noLink, { resourceType: 'Bundle', entry: [null, 1, { resource: null }] })
})

t.test('Bundles inside Bundles are vetted eight levels down', async (t) => {
  const nest = (levels: number): Record<string, any> => ({
    resourceType: 'Bundle',
    link: [{ url: 'https://evil.example/' }],
    ...(levels > 0 ? { entry: [{ resource: nest(levels - 1) }] } : {})
  })
  const top = nest(8)
  links.rewriteBundle(top)
  let level = top
  for (let depth = 0; depth <= 8; depth++) {
    t.same(level.link, [], `level ${depth}`)
    level = level.entry?.[0]?.resource
  }
  const deeper = nest(9)
  const withheld: WithheldLink[] = []
  links.rewriteBundle(deeper, 0, withheld)
  t.equal(withheld.length, 9, 'the ninth is below what is read')
  links.rewriteBundle(nest(0), 9, withheld)
  t.equal(withheld.length, 9)
  const notBundle = { resourceType: 'Patient', link: [{ url: 'https://evil.example/' }] }
  links.rewriteBundle(notBundle)
  t.same(notBundle.link, [{ url: 'https://evil.example/' }], 'a resource that is not a Bundle is not ours to change')
})
