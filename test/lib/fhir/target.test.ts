import t, { type Test } from 'tap'
import {
  canonicalParameters, formatTarget, MAX_TARGET_LENGTH, parseFhirTarget, parseFhirTargetInFull, parsePracticeBase,
  upstreamLocation, type TargetResult
} from '../../../lib/fhir/target.js'

type Refusal = [status: 400 | 404 | 405, reason: string, allow?: string]

/** Both entry points must give the same answer: the shortcut for reads may not change one. */
function parse (rest: string, method = 'GET'): TargetResult {
  const full = parseFhirTargetInFull(rest, method)
  const quick = parseFhirTarget(rest, method)
  if (JSON.stringify(full) !== JSON.stringify(quick)) throw new Error(`${method} ${rest}: the shortcut answers differently`)
  return full
}

function refusedAs (t: Test, rest: string, [status, reason, allow]: Refusal, method = 'GET'): void {
  const code = status === 400 ? 'forbidden_target' : status === 404 ? 'not_found' : 'method_not_allowed'
  t.same(parse(rest, method), { ok: false, status, code, reason, ...(allow ? { allow } : {}) }, `${method} ${JSON.stringify(rest).slice(0, 70)}`)
}

function acceptedAs (t: Test, rest: string, expected: string, kind: 'bundle' | 'resource', method = 'GET'): void {
  const result = parse(rest, method)
  if (!result.ok) { t.fail(`${method} ${rest} refused: ${result.reason}`); return }
  t.equal(formatTarget(result.target), expected, `${method} ${rest}`)
  t.equal(result.target.kind, kind, `${rest} is a ${kind}`)
  t.equal(result.target.postSearch, method === 'POST', 'POST only on _search')
}

t.test('each refusal says why, near misses of what is allowed included', async (t) => {
  const segment: Refusal = [400, 'not a FHIR path segment']
  const cases: Array<[string, Refusal, string?]> = [
    // Characters and shape.
    ['/Observation?code=a b', [400, 'characters outside the FHIR path grammar']],
    ['/Observation?patient=1#x', [400, 'characters outside the FHIR path grammar']],
    ['/Observation?patient=é', [400, 'characters outside the FHIR path grammar']],
    ['/Patient\\1', [400, 'characters outside the FHIR path grammar']],
    ['\u0001/Patient', [400, 'characters outside the FHIR path grammar']],
    ['/Patient/1\u007f', [400, 'characters outside the FHIR path grammar']],
    ['Patient/1', [400, 'not a FHIR path']],
    ['/Patient?x=%zz', [400, 'query parameters outside the FHIR search grammar']],
    // Segments.
    ['/Patient/%2e%2e', segment],
    ['/Patient/1@evil', segment],
    ['/Patient/a:b', segment],
    ['/Patient/a$b', segment],
    ['/Patient/1/$everything$x', segment],
    ['/Patient/1/$Everything', segment],
    ['/Patient/1/%24everything%24', segment],
    ['/Patient//1', segment],
    ['//evil.example/Patient', segment],
    ['/Patient/1/', segment],
    // The first segment.
    ['/Foo', [404, 'Foo is not a FHIR R4 resource type']],
    ['/Foo.', [404, 'Foo. is not a FHIR R4 resource type']],
    ['/patient/1', [404, 'patient is not a FHIR R4 resource type']],
    ['/Foo/smart-configuration', [404, 'Foo is not a FHIR R4 resource type']],
    ['/metadata/x', [404, 'metadata is not a FHIR R4 resource type']],
    ['/.hidden', [400, 'not a FHIR path']],
    ['/.well-known/openid-configuration', [400, 'not a FHIR path']],
    ['/.well-known', [400, 'not a FHIR path']],
    // The second.
    ['/Patient/a_b', [400, 'not a FHIR id']],
    ['/Patient/..', [400, 'not a FHIR id']],
    ['/Patient/.', [400, 'not a FHIR id']],
    ['/Patient/...', [400, 'not a FHIR id']],
    ['/Patient/' + 'a'.repeat(65), [400, 'not a FHIR id']],
    ['/Observation/$everything', [404, 'operation $everything is not forwarded']],
    ['/Observation/$validate', [404, 'operation $validate is not forwarded']],
    ['/Patient/_search/Observation', [400, 'not a FHIR id']],
    ['/Patient/_history/Observation', [400, 'not a FHIR id']],
    ['/Patient/../Observation', [400, 'not a FHIR id']],
    // The third and fourth.
    ['/Observation/1/$everything', [404, 'operation $everything is not forwarded']],
    ['/Patient/1/$docref', [404, 'operation $docref is not forwarded']],
    ['/Patient/1/Foo', [404, 'not a FHIR interaction']],
    ['/Patient/1/_search', [404, 'not a FHIR interaction']],
    ['/Patient/1/_history/..', [400, 'not a FHIR version id']],
    ['/Patient/1/_history/a_b', [400, 'not a FHIR version id']],
    ['/Patient/1/Observation/2', [404, 'not a FHIR interaction']],
    ['/Patient/1/_history/2/x', [404, 'not a FHIR interaction']],
    ['/Patient/1/_history/2/_history', [404, 'not a FHIR interaction']],
    // Methods.
    ['/Patient/_search', [405, '{Type}/_search takes POST', 'POST']],
    ['/Patient/1', [405, 'POST is only for {Type}/_search', 'GET, HEAD'], 'POST'],
    ['/Patient', [405, 'POST is only for {Type}/_search', 'GET, HEAD'], 'POST'],
    ['/metadata', [405, 'POST is only for {Type}/_search', 'GET, HEAD'], 'POST'],
    ['', [405, 'POST is only for {Type}/_search', 'GET, HEAD'], 'POST']
  ]
  for (const [rest, refusal, method] of cases) refusedAs(t, rest, refusal, method)
})

t.test('what a patient app uses is forwarded, rebuilt from its validated parts', async (t) => {
  acceptedAs(t, '', '', 'bundle')
  acceptedAs(t, '/', '', 'bundle')
  acceptedAs(t, '?_getpages=x', '?_getpages=x', 'bundle')
  acceptedAs(t, '/metadata', '/metadata', 'resource')
  acceptedAs(t, '/Patient/1/_history', '/Patient/1/_history', 'bundle')
  acceptedAs(t, '/Observation', '/Observation', 'bundle')
  acceptedAs(t, '/.well-known/smart-configuration', '/.well-known/smart-configuration', 'resource')
  acceptedAs(t, '/Observation/$lastn?patient=1', '/Observation/$lastn?patient=1', 'bundle')
  acceptedAs(t, '/DocumentReference/%24docref', '/DocumentReference/$docref', 'bundle')
  acceptedAs(t, '/Patient/1/%24Everything'.replace('E', 'e'), '/Patient/1/$everything', 'bundle')
  acceptedAs(t, '/Patient/a.', '/Patient/a.', 'resource')
  acceptedAs(t, '/Patient/.a', '/Patient/.a', 'resource')
  acceptedAs(t, '/Patient/a..b', '/Patient/a..b', 'resource')
  acceptedAs(t, '/Patient/smart-configuration', '/Patient/smart-configuration', 'resource')
  acceptedAs(t, `/Patient/${'a'.repeat(64)}`, `/Patient/${'a'.repeat(64)}`, 'resource')
  acceptedAs(t, '/Patient/1/_history/v.2', '/Patient/1/_history/v.2', 'resource')
  acceptedAs(t, '/Patient/1/Observation?code=x', '/Patient/1/Observation?code=x', 'bundle')
  acceptedAs(t, '/Patient?&', '/Patient', 'bundle')
  acceptedAs(t, '/Patient?', '/Patient', 'bundle')
  acceptedAs(t, '/Observation?a+b=1'.replace('a+b', 'a'), '/Observation?a=1', 'bundle')
  acceptedAs(t, '/Observation/_search', '/Observation/_search', 'bundle', 'POST')
})

t.test('a path of 4096 characters is read, one more is refused', async (t) => {
  const at = (length: number) => `/Observation?x=${'a'.repeat(length - '/Observation?x='.length)}`
  t.equal(MAX_TARGET_LENGTH, 4096)
  t.ok(parse(at(4096)).ok)
  refusedAs(t, at(4097), [400, 'path too long'])
})

t.test('query and form parameters are decoded, checked and encoded again', async (t) => {
  t.equal(canonicalParameters(''), '')
  t.equal(canonicalParameters('&'), '', 'no pair is no parameter')
  t.equal(canonicalParameters('a=1&&b=2&'), 'a=1&b=2')
  t.equal(canonicalParameters('a'), 'a=', 'a name alone has an empty value')
  t.equal(canonicalParameters('x+y=1'), undefined, 'a plus in a name is a space, and no name has one')
  t.equal(canonicalParameters('x=a+b'), 'x=a%20b', 'a plus in a value is a space')
  t.equal(canonicalParameters('x=a%2Bb'), 'x=a%2Bb')
  t.equal(canonicalParameters('code:text=a%3Ab'), 'code%3Atext=a%3Ab')
  t.equal(canonicalParameters('x=a\uD800'), undefined, 'a lone surrogate cannot be encoded')
  t.equal(canonicalParameters('x=1&y=a\uD800'), undefined, 'nor after a good pair')
  t.equal(canonicalParameters('x=%00'), undefined, 'control characters in a value')
  t.equal(canonicalParameters('1x=1'), undefined, 'a name starts with a letter or _')
  t.equal(canonicalParameters(`${'n'.repeat(128)}=1`), `${'n'.repeat(128)}=1`)
  t.equal(canonicalParameters(`${'n'.repeat(129)}=1`), undefined)
  const pairs = (n: number, value = '1') => Array.from({ length: n }, (_, i) => `p${i}=${value}`).join('&')
  t.equal(canonicalParameters(pairs(100)), pairs(100), 'a hundred parameters')
  t.equal(canonicalParameters(pairs(101)), undefined, 'a hundred and one are too many')
  t.equal(canonicalParameters(pairs(100, 'a+b')), pairs(100, 'a%20b'), 'a hundred, decoded and encoded again')
  t.equal(canonicalParameters(pairs(101, 'a+b')), undefined, 'a hundred and one, however written')
  // A POST _search body may be long, but not without end.
  const body = (length: number) => `x=${'%41'.repeat(Math.floor((length - 2) / 3))}${'a'.repeat((length - 2) % 3)}`
  t.equal(body(MAX_TARGET_LENGTH * 16).length, MAX_TARGET_LENGTH * 16)
  t.ok(canonicalParameters(body(MAX_TARGET_LENGTH * 16))?.startsWith('x=AAA'), 'a 64 KiB body is read')
  t.equal(canonicalParameters(body(MAX_TARGET_LENGTH * 16 + 1)), undefined, 'one byte more is refused')
})

t.test('a practice base is a plain http(s) URL, kept without trailing slashes', async (t) => {
  t.same(parsePracticeBase('https://fhir4.healow.com/fhir/r4/JAFJCD//'), { origin: 'https://fhir4.healow.com', path: '/fhir/r4/JAFJCD' })
  t.same(parsePracticeBase('http://127.0.0.1:4000/fhir/r4/X'), { origin: 'http://127.0.0.1:4000', path: '/fhir/r4/X' })
  t.same(parsePracticeBase('https://fhir.example'), { origin: 'https://fhir.example', path: '' })
  for (const bad of ['ftp://h/x', 'file:///x', 'https://u@h/x', 'https://:p@h/x', 'https://h/x?q=1', 'https://h/x#f']) {
    t.throws(() => parsePracticeBase(bad), { message: 'a practice FHIR base must be a plain http(s) URL' }, bad)
  }
})

t.test('the upstream location stays under the base, whatever a forged target says', async (t) => {
  const root = parsePracticeBase('https://fhir.example/')
  const target = (segments: string[]) => ({ segments, query: 'a=1', kind: 'resource' as const, postSearch: false })
  t.same(upstreamLocation(root, target([])), { origin: 'https://fhir.example', path: '/', query: 'a=1' }, 'the bare base at the host root')
  t.same(upstreamLocation(root, target(['Patient', '1'])), { origin: 'https://fhir.example', path: '/Patient/1', query: 'a=1' })
  const base = parsePracticeBase('https://fhir.example/fhir/r4/JAFJCD')
  t.same(upstreamLocation(base, target([])).path, '/fhir/r4/JAFJCD')
  for (const [what, under, segments] of [
    ['another host', root, ['', 'evil.example', 'Patient']],
    ['another host under a base path', base, ['..', '..', '..', '', 'evil.example']],
    ['a sibling practice', base, ['..', 'JAFJCDX', 'Patient']],
    ['the parent', base, ['..']]
  ] as const) {
    t.throws(() => upstreamLocation(under, target([...segments])), { message: 'upstream path escaped the practice base' }, what)
  }
})
