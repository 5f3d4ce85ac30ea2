import t from 'tap'
import { canonicalParameters, formatTarget, parseFhirTarget, parseFhirTargetInFull, parsePracticeBase, upstreamLocation } from '../../lib/fhir/target.js'
import { CRAFTED_PATHS } from '../helpers/fhir-proxy-attacks.js'
import { randomInt, seededRandom } from '../../simulator/prng.js'

const fill = (s: string) => s.replaceAll('{decoy}', '127.0.0.1:9').replaceAll('{other}', 'BHDGCD')

t.test('every crafted path of the battery is refused by the normaliser', async (t) => {
  const pathCases = CRAFTED_PATHS.filter((c) => (c.method ?? 'GET') === 'GET')
  t.ok(pathCases.length >= 40, `${pathCases.length} GET cases`)
  for (const c of pathCases) {
    const result = parseFhirTarget(fill(c.rest), 'GET')
    t.notOk(result.ok, `${c.name}: ${c.rest.slice(0, 80)}`)
  }
  // The POST cases that are about the path or the form (content type and method are the route's job).
  t.notOk(parseFhirTarget('/Patient', 'POST').ok, 'POST create')
  t.notOk(parseFhirTarget('/../oauth/oauth2/token/_search', 'POST').ok, 'POST search traversal')
  t.equal(canonicalParameters('../x=1'), undefined, 'POST search with a bad parameter name')
})

t.test('refusals say why, with a status the client can act on', async (t) => {
  t.match(parseFhirTarget('/%2e%2e/x', 'GET'), { ok: false, status: 400, code: 'forbidden_target' })
  t.match(parseFhirTarget('/Foo', 'GET'), { ok: false, status: 404, code: 'not_found' })
  t.match(parseFhirTarget('/Patient/_search', 'GET'), { ok: false, status: 405, allow: 'POST' })
  t.match(parseFhirTarget('/Patient/1', 'POST'), { ok: false, status: 405, allow: 'GET, HEAD' })
})

t.test('FHIR paths a client uses are forwarded as they are', async (t) => {
  const cases: Array<[string, string, 'bundle' | 'resource']> = [
    ['', '', 'bundle'],
    ['/', '', 'bundle'],
    ['?_getpages=Observation.abc&_getpagesoffset=10&_count=10&_bundletype=searchset', '?_getpages=Observation.abc&_getpagesoffset=10&_count=10&_bundletype=searchset', 'bundle'],
    ['/metadata', '/metadata', 'resource'],
    ['/.well-known/smart-configuration', '/.well-known/smart-configuration', 'resource'],
    ['/Observation?patient=abc&category=laboratory', '/Observation?patient=abc&category=laboratory', 'bundle'],
    ['/Patient/abc-123.x', '/Patient/abc-123.x', 'resource'],
    ['/Binary/large', '/Binary/large', 'resource'],
    ['/Patient/1/_history', '/Patient/1/_history', 'bundle'],
    ['/Patient/1/_history/2', '/Patient/1/_history/2', 'resource'],
    ['/Patient/1/$everything', '/Patient/1/$everything', 'bundle'],
    ['/Patient/1/%24everything', '/Patient/1/$everything', 'bundle'],
    ['/DocumentReference/$docref?patient=1', '/DocumentReference/$docref?patient=1', 'bundle'],
    ['/Patient/1/Observation', '/Patient/1/Observation', 'bundle'],
    ['/Observation?code=http://loinc.org|1234-5', '/Observation?code=http%3A%2F%2Floinc.org%7C1234-5', 'bundle'],
    ['/Observation?subject:Patient.name=Ann+Lee&date=ge2020', '/Observation?subject%3APatient.name=Ann%20Lee&date=ge2020', 'bundle']
  ]
  for (const [rest, expected, kind] of cases) {
    const result = parseFhirTarget(rest, 'GET')
    if (!result.ok) { t.fail(`${rest} refused: ${result.reason}`); continue }
    t.equal(formatTarget(result.target), expected, rest || '(base)')
    t.equal(result.target.kind, kind, `${rest} is a ${kind}`)
  }
  const post = parseFhirTarget('/Observation/_search', 'POST')
  t.match(post, { ok: true, target: { postSearch: true, kind: 'bundle' } })
})

t.test('the upstream URL is built from the practice base and the validated segments only', async (t) => {
  const base = parsePracticeBase('https://fhir4.healow.com/fhir/r4/JAFJCD/')
  t.same(base, { origin: 'https://fhir4.healow.com', path: '/fhir/r4/JAFJCD' })
  const parsed = parseFhirTarget('/Observation?patient=1', 'GET')
  if (!parsed.ok) throw new Error('refused')
  t.same(upstreamLocation(base, parsed.target), { origin: 'https://fhir4.healow.com', path: '/fhir/r4/JAFJCD/Observation', query: 'patient=1' })
  const root = parseFhirTarget('', 'GET')
  if (!root.ok) throw new Error('refused')
  t.same(upstreamLocation(base, root.target).path, '/fhir/r4/JAFJCD')
  t.throws(() => upstreamLocation(base, { segments: ['..', '..', 'oauth'], query: '', kind: 'resource', postSearch: false }), /escaped/, 'a forged target is still caught')
  for (const bad of ['ftp://h/x', 'https://u:p@h/x', 'https://h/x?q=1', 'not a url']) {
    t.throws(() => parsePracticeBase(bad), bad)
  }
})

t.test('a query already in canonical form comes back as it is, exactly as decoding and encoding would give it', async (t) => {
  // The long way, written out: every pair decoded, checked and encoded again.
  const byDecoding = (raw: string): string | undefined => {
    const out: string[] = []
    for (const pair of raw.split('&').filter(Boolean)) {
      const eq = pair.indexOf('=')
      let name: string, value: string
      try {
        name = decodeURIComponent((eq === -1 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '))
        value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '))
        if (!/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/.test(name) || /[\x00-\x1f\x7f]/.test(value)) return undefined
        out.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
      } catch {
        return undefined
      }
    }
    return out.length > 100 ? undefined : out.join('&')
  }
  const names = ['patient', '_count', 'code:text', 'subject:Patient.name', '_getpages', 'a-b.c', '9x', 'x y', 'é', '']
  const values = ['', 'p1', '10', "a'b(c)*!~", 'a+b', 'a%20b', 'a%zz', 'ge2024-01-01T00%3A00%3A00Z', 'a|b,c', 'x=y', '%C3%A9', '%00', 'a.b_c-d']
  const dice = seededRandom('canonical query test')
  const random = (n: number) => randomInt(dice, 0, n - 1)
  let kept = 0
  for (let i = 0; i < 5000; i++) {
    const count = random(10) === 0 ? 101 : 1 + random(4)
    const raw = Array.from({ length: count }, () => `${names[random(names.length)]}${random(8) === 0 ? '' : `=${values[random(values.length)]}`}`).join('&')
    const canonical = canonicalParameters(raw)
    if (canonical === raw) kept++
    if (canonical !== byDecoding(raw)) t.fail(`${raw}: ${canonical} against ${byDecoding(raw)}`)
  }
  t.ok(kept > 200, `${kept} of 5000 queries were already canonical; every one agreed with the long way`)
  const pairs = (n: number) => Array.from({ length: n }, (_, i) => `p${i}=${i}`).join('&')
  t.equal(canonicalParameters(pairs(100)), pairs(100), 'a hundred parameters pass')
  t.equal(canonicalParameters(pairs(101)), undefined, 'a hundred and one do not')
})

t.test('a read of /{Type}/{id} is answered as the whole grammar answers it', async (t) => {
  const types = ['Patient', 'Observation', 'DocumentReference', 'patient', 'Foo', 'PATIENT', 'metadata', '.well-known', '']
  const segments = [...types, 'obs-1', 'abc-123.x', 'a'.repeat(64), 'a'.repeat(65), '.', '..', '...', 'a..b', '_search', '_history',
    '$everything', '%24everything', '$docref', 'a_b', 'a$b', 'a%2eb', 'a b', 'é', 'smart-configuration']
  const dice = seededRandom('type/id shortcut test')
  const pickFrom = (items: string[]) => items[randomInt(dice, 0, items.length - 1)]
  const differences: string[] = []
  let shortcut = 0
  for (let i = 0; i < 5000; i++) {
    // Half of them shaped like a read (a type first), so that the shortcut's edges are well covered.
    const first = randomInt(dice, 0, 1) === 0 ? pickFrom(types) : pickFrom(segments)
    const more = randomInt(dice, 0, 1) === 0 ? 1 : randomInt(dice, 0, 2)
    const path = [first, ...Array.from({ length: more }, () => pickFrom(segments))].join('/')
    const rest = `${randomInt(dice, 0, 9) === 0 ? '' : '/'}${path}${randomInt(dice, 0, 7) === 0 ? '/' : ''}${randomInt(dice, 0, 7) === 0 ? '?patient=1' : ''}`
    for (const method of ['GET', 'POST']) {
      const full = parseFhirTargetInFull(rest, method)
      if (full.ok && full.target.kind === 'resource' && full.target.segments.length === 2 && full.target.query === '') shortcut++
      if (JSON.stringify(parseFhirTarget(rest, method)) !== JSON.stringify(full)) differences.push(`${method} ${rest}`)
    }
  }
  t.same(differences, [], 'no path is answered differently')
  t.ok(shortcut > 200, `${shortcut} reads of a type and an id among them`)
})
