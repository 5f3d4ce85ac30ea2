import t from 'tap'
import { rewriteBundleText, URN_FULL_URL } from '../../../lib/fhir/bundle-text.js'

const BASE = 'https://fhir.example/r4/JAFJCD'
const GATEWAY = 'https://gw.example/fhir/c1'
/** A stand-in for PracticeLinks.rewrite, so that the scanner is seen alone: under BASE or dropped. */
const rewrite = (url: string): string | undefined => (url.startsWith(`${BASE}/`) ? GATEWAY + url.slice(BASE.length) : undefined)
const LINK = `{"relation":"self","url":"${BASE}/Patient/1"}`
const REWRITTEN_LINK = `{"relation":"self","url":"${GATEWAY}/Patient/1"}`
/** A Bundle with one link to rewrite and `value` under a key of no interest. */
const withValue = (value: string) => `{"resourceType":"Bundle","link":[${LINK}],"x":${value}}`
const rewrittenWith = (value: string) => `{"resourceType":"Bundle","link":[${REWRITTEN_LINK}],"x":${value}}`

t.test('every kind of JSON value around the links is kept byte for byte, with escapes in the text or none', async (t) => {
  const values = ['0', '-0', '7', '10', '1.5', '-1.5e10', '1E+2', '1e-2', '2.50E-3', '0.0', 'true', 'false', 'null', '""', '"plain"',
    '[]', '[ ]', '{}', '{ }', '[1,2,[3,{}]]', '{"a":{"b":[true,null]},"c":"d"}', ' \t\r\n1 ', '[ 1 , "a" ]', '{ "a" : 1 , "b" : [ ] }']
  const escaped = ['"a\\"b"', '"\\\\"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\u00e9"', '"\\uABCD\\uabcd"', '"\\u0009x"', '["\\"",{"\\u0061":"\\n"}]']
  for (const value of [...values, ...escaped]) {
    t.equal(rewriteBundleText(withValue(value), rewrite), rewrittenWith(value), value)
  }
  // The same values where the text has an escape elsewhere, so that no string is read the plain way.
  for (const value of values) {
    const text = withValue(`[${value},"\\n"]`)
    t.equal(rewriteBundleText(text, rewrite), rewrittenWith(`[${value},"\\n"]`), `${value} in a text with escapes`)
  }
  t.equal(rewriteBundleText(`\n ${withValue('1')} \r\n`, rewrite), `\n ${rewrittenWith('1')} \r\n`, 'whitespace around the Bundle')
})

t.test('text that is not strict JSON is declined, whichever way its strings are read', async (t) => {
  const bad = ['01', '-', '-a', '1.', '.5', '+1', '1e', '1e+', '1E-', '1.e5', 'tru', 'nul', 'fals', 'True', 'NaN', 'undefined', "'a'",
    '"\\x"', '"\\u12"', '"\\u12G4"', '"\\uG234"', '"\\u1G34"', '"\\u12 4"', '"\\', '"a', '"a\u0001"', '"a\u001f"', '[1,]', '[,1]', '[1 2]', '[1',
    '{"a"}', '{"a":}', '{,}', '{"a":1,}', '{"a":1 "b":2}', '{a:1}', '{"a" 1}', '{"a":1', '']
  for (const value of bad) {
    t.equal(rewriteBundleText(withValue(value), rewrite), undefined, JSON.stringify(value))
    t.equal(rewriteBundleText(withValue(`[${value}`), rewrite), undefined, `${JSON.stringify(value)} after a bracket`)
  }
  for (const text of ['', ' ', '[]', '"Bundle"', '{"resourceType":"Bundle"', '{"resourceType":"Bundle"}x', '{"resourceType":"Bundle"}{}',
    `{"resourceType":"Bundle","link":[${LINK}]`, '{"resourceType":"Bundle",}', '{"resourceType":"Bundle" "x":1}', '{"resourceType" "Bundle"}',
    '{"resourceType":"Bundle",\u0001"x":1}', '{"resourceType":"Bundle","x":"\u0000"}', '{"resourceType":"Bundle","x":"\\q"}']) {
    t.equal(rewriteBundleText(text, rewrite), undefined, JSON.stringify(text))
  }
})

t.test('only a Bundle is rewritten by the scanner', async (t) => {
  t.equal(rewriteBundleText('{"resourceType":"Bundle"}', rewrite), '{"resourceType":"Bundle"}')
  t.equal(rewriteBundleText('{"resourceType":"Bundle","link":[],"entry":[]}', rewrite), '{"resourceType":"Bundle","link":[],"entry":[]}')
  t.equal(rewriteBundleText('{"resourceType":"Bundle","link":[ ],"entry":[ ]}', rewrite), '{"resourceType":"Bundle","link":[ ],"entry":[ ]}')
  for (const text of ['{}', '{"link":[]}', '{"resourceType":"Bundles"}', '{"resourceType":"OperationOutcome"}', '{"resourceType":1}',
    '{"resourceType":null}', '{"resourceType":["Bundle"]}', '{"resourceType":{"a":"Bundle"}}', '{"resourceType":"bundle"}']) {
    t.equal(rewriteBundleText(text, rewrite), undefined, text)
  }
})

t.test('links are found by their place in the Bundle, never by their look', async (t) => {
  const url = (u: string) => `${BASE}/${u}`
  const gw = (u: string) => `${GATEWAY}/${u}`
  const cases: Array<[string, string]> = [
    [`{"link":[{"url":"${url('A/1')}"},{"relation":"next","url":"${url('A/2')}","extension":[{"url":"x"}]}],"resourceType":"Bundle"}`,
      `{"link":[{"url":"${gw('A/1')}"},{"relation":"next","url":"${gw('A/2')}","extension":[{"url":"x"}]}],"resourceType":"Bundle"}`],
    [`{"resourceType":"Bundle","entry":[{"fullUrl":"${url('A/1')}","resource":{"resourceType":"A","url":"x","link":[{"url":"y"}]}},` +
      `{"link":[{"url":"${url('A/3')}"}],"fullUrl":"urn:uuid:1","search":{"url":"z"}}]}`,
    `{"resourceType":"Bundle","entry":[{"fullUrl":"${gw('A/1')}","resource":{"resourceType":"A","url":"x","link":[{"url":"y"}]}},` +
      `{"link":[{"url":"${gw('A/3')}"}],"fullUrl":"urn:uuid:1","search":{"url":"z"}}]}`],
    ['{"resourceType":"Bundle","entry":[{"resource":"not an object","fullUrl":"URN:OID:1.2"}]}', '{"resourceType":"Bundle","entry":[{"resource":"not an object","fullUrl":"URN:OID:1.2"}]}'],
    ['{"resourceType":"Bundle","url":"x","fullUrl":"y","resource":"z","entry":[{"url":"x","resourceType":"Bundle","entry":"y"}]}',
      '{"resourceType":"Bundle","url":"x","fullUrl":"y","resource":"z","entry":[{"url":"x","resourceType":"Bundle","entry":"y"}]}'],
    [`{"resourceType":"Bundle","link":[{"\\u0075rl":"${url('A/1')}","urls":"x","ur":"y","Url":"z"}]}`,
      `{"resourceType":"Bundle","link":[{"\\u0075rl":"${gw('A/1')}","urls":"x","ur":"y","Url":"z"}]}`],
    [`{"resourceType":"Bundle","link":[{"url":"${url('A/1').replace(/\//g, '\\/')}"}]}`, `{"resourceType":"Bundle","link":[{"url":"${gw('A/1')}"}]}`],
    [`{"resourceType":"Bundle","entry":[{"fullUrl" : "${url('A/1')}" ,"resource":{ }}]}`, `{"resourceType":"Bundle","entry":[{"fullUrl" : "${gw('A/1')}" ,"resource":{ }}]}`],
    ['{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","resource":{"resourceType":"Bundle"}}}]}',
      '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","resource":{"resourceType":"Bundle"}}}]}']
  ]
  for (const [text, expected] of cases) t.equal(rewriteBundleText(text, rewrite), expected, text.slice(0, 90))
})

t.test('what the scanner leaves to the parsing way: links it would drop, and any doubt about where they are', async (t) => {
  const good = `${BASE}/A/1`
  const cases: Array<[string, string]> = [
    ['a link that must be dropped', '{"resourceType":"Bundle","link":[{"url":"https://evil.example/x"}]}'],
    ['a fullUrl that must be dropped', '{"resourceType":"Bundle","entry":[{"fullUrl":"https://evil.example/x"}]}'],
    ['a fullUrl under a look-alike urn', '{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuidx:1"}]}'],
    ['an entry link that must be dropped', '{"resourceType":"Bundle","entry":[{"link":[{"url":"https://evil.example/x"}]}]}'],
    ['a url written twice', `{"resourceType":"Bundle","link":[{"url":"${good}","url":"${good}"}]}`],
    ['a url written twice, once escaped', `{"resourceType":"Bundle","link":[{"url":"${good}","\\u0075rl":"${good}"}]}`],
    ['a fullUrl written twice', `{"resourceType":"Bundle","entry":[{"fullUrl":"${good}","fullUrl":"${good}"}]}`],
    ['a resource written twice', '{"resourceType":"Bundle","entry":[{"resource":{},"resource":{}}]}'],
    ['an entry link list written twice', '{"resourceType":"Bundle","entry":[{"link":[],"link":[]}]}'],
    ['a link list written twice', '{"resourceType":"Bundle","link":[],"link":[]}'],
    ['an entry list written twice', '{"resourceType":"Bundle","entry":[],"entry":[]}'],
    ['a resourceType written twice', '{"resourceType":"Bundle","resourceType":"Bundle"}'],
    ["a resource's resourceType written twice", '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"A","resourceType":"A"}}]}'],
    ['a link without a url', '{"resourceType":"Bundle","link":[{"relation":"self"}]}'],
    ['an empty link', '{"resourceType":"Bundle","link":[{}]}'],
    ['an empty link, spaced', '{"resourceType":"Bundle","link":[{ }]}'],
    ['a url that is not a string', '{"resourceType":"Bundle","link":[{"url":1}]}'],
    ['a url that is an object', '{"resourceType":"Bundle","link":[{"url":{}}]}'],
    ['a fullUrl that is not a string', '{"resourceType":"Bundle","entry":[{"fullUrl":null}]}'],
    ['a link that is not an object', '{"resourceType":"Bundle","link":["x"]}'],
    ['a link that is a list', '{"resourceType":"Bundle","link":[[]]}'],
    ['a second link that is not an object', `{"resourceType":"Bundle","link":[{"url":"${good}"},1]}`],
    ['a link list that is an object', `{"resourceType":"Bundle","link":{"url":"${good}"}}`],
    ['a link list that is a string', '{"resourceType":"Bundle","link":"x"}'],
    ['a link list that is null', '{"resourceType":"Bundle","link":null}'],
    ['an entry list that is an object', '{"resourceType":"Bundle","entry":{}}'],
    ['an entry list that is a number', '{"resourceType":"Bundle","entry":1}'],
    ['an entry that is not an object', '{"resourceType":"Bundle","entry":[1]}'],
    ['an entry that is null', '{"resourceType":"Bundle","entry":[{},null]}'],
    ["an entry's link list that is an object", '{"resourceType":"Bundle","entry":[{"link":{}}]}'],
    ['a nested Bundle', '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Bundle"}}]}'],
    ['a nested Bundle, escaped', '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"B\\u0075ndle"}}]}'],
    ['a Bundle that is a list', '[{"resourceType":"Bundle"}]']
  ]
  for (const [what, text] of cases) t.equal(rewriteBundleText(text, rewrite), undefined, what)
  t.ok(URN_FULL_URL.test('urn:uuid:1') && URN_FULL_URL.test('URN:OID:1') && !URN_FULL_URL.test('xurn:uuid:1') && !URN_FULL_URL.test('urn:uri:1'))
})

t.test('nesting: 256 levels are read, one more is left to the parsing way', async (t) => {
  // The Bundle is level 1, so a value n brackets deep inside it is at level n + 1.
  const nested = (n: number) => withValue(`${'['.repeat(n)}${']'.repeat(n)}`)
  t.equal(rewriteBundleText(nested(255), rewrite), rewrittenWith(`${'['.repeat(255)}${']'.repeat(255)}`))
  t.equal(rewriteBundleText(nested(256), rewrite), undefined)
  const objects = (n: number) => withValue(`${'{"a":'.repeat(n - 1)}{}${'}'.repeat(n - 1)}`)
  t.equal(rewriteBundleText(objects(255), rewrite), rewrittenWith(`${'{"a":'.repeat(254)}{}${'}'.repeat(254)}`))
  t.equal(rewriteBundleText(objects(256), rewrite), undefined)
  const deepLink = (n: number) => `{"resourceType":"Bundle","x":${'['.repeat(n)}${']'.repeat(n)},"link":[${LINK}]}`
  t.equal(rewriteBundleText(deepLink(255), rewrite), `{"resourceType":"Bundle","x":${'['.repeat(255)}${']'.repeat(255)},"link":[${REWRITTEN_LINK}]}`,
    'the depth is of each value, not a running count')
})

t.test('a text without links to rewrite comes back as it is', async (t) => {
  const text = '{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"A"}}]}'
  t.equal(rewriteBundleText(text, rewrite), text)
  t.equal(rewriteBundleText(text, () => { throw new Error('not asked') }), text, 'a urn fullUrl is not even looked at')
})

t.test('a new link is written as JSON writes it: escaped where it must be, as it is otherwise', async (t) => {
  const link = (url: string) => `{"resourceType":"Bundle","link":[{"url":"${url}"}]}`
  for (const escaped of ['\\"', '\\\\', '\\n', '\\u0000', '\\u001f']) {
    t.equal(rewriteBundleText(link(`${BASE}/Patient/a${escaped}b`), rewrite), link(`${GATEWAY}/Patient/a${escaped}b`), escaped)
  }
  t.equal(rewriteBundleText(link(`${BASE}/Patient/\\ud800`), rewrite), link(`${GATEWAY}/Patient/\\ud800`), 'a lone surrogate')
  t.equal(rewriteBundleText(link(`${BASE}/Patient/é😀`), rewrite), link(`${GATEWAY}/Patient/é😀`), 'other characters are written as they are')
  const text = link(`${BASE}/Patient/a\\"b`)
  t.same(JSON.parse(rewriteBundleText(text, rewrite)!), { resourceType: 'Bundle', link: [{ url: `${GATEWAY}/Patient/a"b` }] }, 'and reads back as the new link')
})
