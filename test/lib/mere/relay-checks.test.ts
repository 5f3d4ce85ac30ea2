import t from 'tap'
import { PracticeLinks } from '../../../lib/fhir/bundle-links.js'
import { parsePracticeBase } from '../../../lib/fhir/target.js'
import { bearerToken, isTokenTarget, relayOriginProblem, relayTargetBelowBase } from '../../../lib/mere/relay-checks.js'

const PUBLIC_URL = 'https://gw.example.org:8443/base'
const ORIGIN = 'https://gw.example.org:8443'
const WHY = `The Healow relay only serves pages on ${ORIGIN} (Origin or Referer)`

t.test('the relay serves pages on PUBLIC_URL, compared exactly, never by prefix', async (t) => {
  for (const headers of [
    { origin: `${ORIGIN}.evil.example` },
    { origin: `${ORIGIN}0` },
    { origin: 'https://gw.example.org:8444' },
    { origin: 'https://gw.example.org' },
    { origin: 'http://gw.example.org:8443' },
    { origin: `${ORIGIN}/` },
    { origin: ORIGIN.toUpperCase() },
    { origin: `x${ORIGIN}` },
    { origin: 'null' },
    { origin: '' },
    { origin: '', referer: `${ORIGIN}/page` },
    { origin: [ORIGIN, ORIGIN] },
    { origin: 'https://evil.example', referer: `${ORIGIN}/page` },
    { referer: `${ORIGIN}.evil.example/page` },
    { referer: 'https://gw.example.org:8444/page' },
    { referer: `https://evil.example/${ORIGIN}` },
    { referer: 'not a url' },
    { referer: [`${ORIGIN}/page`] },
    {}
  ]) t.equal(relayOriginProblem(headers, PUBLIC_URL), WHY, JSON.stringify(headers))
  t.equal(relayOriginProblem({ origin: ORIGIN }, PUBLIC_URL), undefined, 'the exact origin')
  t.equal(relayOriginProblem({ referer: `${ORIGIN}/timeline?x=1` }, PUBLIC_URL), undefined, 'a page on it')
  t.equal(relayOriginProblem({ referer: 'HTTPS://GW.EXAMPLE.ORG:8443/' }, PUBLIC_URL), undefined, 'as the URL parser reads it')
  t.equal(relayOriginProblem({ origin: 'https://gw.example.org' }, 'https://gw.example.org:443/'), undefined, 'a default port is no port')
})

t.test('a bearer token is printable ASCII of 1 to 4096 characters after "Bearer "', async (t) => {
  t.equal(bearerToken('Bearer abc.DEF-~!'), 'abc.DEF-~!')
  t.equal(bearerToken(`Bearer ${'t'.repeat(4096)}`), 't'.repeat(4096))
  for (const header of [undefined, ['Bearer a'], '', 'Bearer ', 'Bearer', 'bearer a', 'Basic YTpi', 'Bearer a b', 'Bearer  a', ' Bearer a',
    'Bearer a\n', 'Bearer é', `Bearer ${'t'.repeat(4097)}`, 'xBearer a']) {
    t.equal(bearerToken(header), undefined, JSON.stringify(header))
  }
})

t.test("target_type=token leads to the practice's token URL and nowhere else", async (t) => {
  const tokenUrl = 'https://oauth.example/oauth/oauth2/token'
  for (const target of [undefined, '', tokenUrl, 'HTTPS://OAUTH.EXAMPLE/oauth/oauth2/token', './token', 'token', '/oauth/oauth2/token']) {
    t.ok(isTokenTarget(target, tokenUrl), JSON.stringify(target))
  }
  for (const target of [`${tokenUrl}x`, `${tokenUrl}/`, `${tokenUrl}?x=1`, `${tokenUrl}#x`, '../token', 'authorize', 'http://oauth.example/oauth/oauth2/token',
    'https://evil.example/oauth/oauth2/token', '//evil.example/oauth/oauth2/token', 'http://[']) {
    t.notOk(isTokenTarget(target, tokenUrl), JSON.stringify(target))
  }
})

t.test('a target_type=base target leads under the practice, or is refused', async (t) => {
  const links = new PracticeLinks(parsePracticeBase('https://fhir.example/r4/JAFJCD'), [], '')
  const cases: Array<[string, string | undefined]> = [
    ['Patient/1', '/Patient/1'],
    ['/Patient/1', '/Patient/1'],
    ['/Binary/b1', '/Binary/b1'],
    ['//Patient/1', undefined],
    ['//fhir.example/r4/JAFJCD/Patient/1', '/Patient/1'],
    ['//evil.example/r4/JAFJCD/Patient/1', undefined],
    ['https://fhir.example/r4/JAFJCD/Patient/1', '/Patient/1'],
    ['https://fhir.example/r4/BHDGCD/Patient/1', undefined],
    ['Patient/1#x', undefined],
    ['/Patient#', undefined],
    ['Observation?patient=1', '/Observation?patient=1'],
    ['../BHDGCD/Patient', undefined]
  ]
  for (const [target, expected] of cases) t.equal(relayTargetBelowBase(target, links, 'GET'), expected, target)
  t.equal(relayTargetBelowBase('Observation/_search', links, 'POST'), '/Observation/_search')
  t.equal(relayTargetBelowBase('Observation/_search', links, 'GET'), undefined)
  t.equal(relayTargetBelowBase('Patient/1', links, 'HEAD'), '/Patient/1', 'HEAD reads as GET does')
})
