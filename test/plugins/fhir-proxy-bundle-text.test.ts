import t from 'tap'
import { PracticeLinks } from '../../lib/fhir/bundle-links.js'
import { rewriteBundleText } from '../../lib/fhir/bundle-text.js'
import { parsePracticeBase } from '../../lib/fhir/target.js'
import type { WithheldLink } from '../../lib/fhir/withheld-links.js'
import { pick as pickFrom, randomInt, seededRandom } from '../../simulator/prng.js'

const GATEWAY = 'https://gw.example.org/fhir/conn-1'
const links = new PracticeLinks(parsePracticeBase('https://fhir4.healow.com/fhir/r4/JAFJCD'), ['http://fhir4.eclinicalworks.com'], GATEWAY)
const rewrite = (url: string) => links.rewrite(url)
const BASE = 'http://fhir4.eclinicalworks.com/fhir/r4/JAFJCD'

/** What the parsing way makes of a text: the rewritten Bundle, or undefined when the text is not JSON. */
function byParsing (text: string, withheld: WithheldLink[] = []): unknown {
  const rewritten = links.rewriteBundleJsonByParsing(text, withheld)
  return rewritten === undefined ? undefined : JSON.parse(rewritten)
}

/** Whether a rewritten Bundle ends with the outcome entry that names withheld links. */
function endsWithOutcome (bundle: unknown): boolean {
  const entries = (bundle as { entry?: unknown }).entry
  const last = Array.isArray(entries)
    ? entries[entries.length - 1] as {
      search?: { mode?: string },
      resource?: { issue?: Array<{ details?: { coding?: Array<{ code?: string }> } }> }
    }
    : undefined
  return last?.search?.mode === 'outcome' && last.resource?.issue?.[0]?.details?.coding?.[0]?.code === 'link_withheld'
}

// A JSON value with the liberties real serializers take: keys written twice, keys and slashes
// escaped, whitespace anywhere. Objects are lists of [key, value] so that a key can repeat.
type Json = string | number | boolean | null | Json[] | { pairs: Array<[string, Json]> }

const dice = seededRandom('bundle-text test')
/** A whole number below `n`. */
const random = (n: number) => randomInt(dice, 0, n - 1)
const pick = <T>(list: readonly T[]): T => pickFrom(dice, list)
const chance = (percent: number) => random(100) < percent

function space (): string {
  return chance(80) ? '' : pick([' ', '\n', '\t', '\r\n  '])
}

function emitString (value: string): string {
  let out = JSON.stringify(value)
  if (chance(10)) out = out.replace(/\//g, '\\/')
  if (chance(5) && /[a-z]/.test(value)) out = out.replace(/[a-z]/, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return out
}

function emit (value: Json): string {
  if (typeof value === 'string') return emitString(value)
  if (typeof value === 'number') return pick([String(value), `${value}.0`, `${value}e0`, `${value}E+0`])
  if (value === null || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return `[${space()}${value.map((v) => emit(v)).join(`${space()},${space()}`)}${space()}]`
  return `{${space()}${value.pairs.map(([k, v]) => `${emitString(k)}${space()}:${space()}${emit(v)}`).join(`${space()},${space()}`)}${space()}}`
}

const obj = (...pairs: Array<[string, Json]>): Json => ({ pairs })

function someUrl (): string {
  return pick([
    `${BASE}/Observation/obs-${random(100)}`,
    `${BASE}/Observation?patient=p1&_count=${random(50)}`,
    `${BASE}?_getpages=Observation.p1&_getpagesoffset=${random(40)}&_count=4`,
    `https://fhir4.healow.com/fhir/r4/JAFJCD/Patient/p${random(9)}`,
    `${BASE}/Observation?code=a|b,c&date=ge2024-01-01T00%3A00%3A00Z`,
    `${BASE}/Observation?patient=p%201`,
    'https://evil.example/fhir/r4/JAFJCD/Patient/1',
    `${BASE}/../BHDGCD/Patient`,
    `${BASE}/NotAType/1`,
    'Observation?patient=p1',
    'urn:uuid:8c2f3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
    `${BASE}/Observation/obs é`
  ])
}

function resource (depth: number): Json {
  if (depth < 2 && chance(5)) return bundle(depth + 1)
  const pairs: Array<[string, Json]> = [['resourceType', pick(['Observation', 'Patient', 'Condition'])], ['id', `r${random(1000)}`]]
  if (chance(50)) pairs.push(['valueQuantity', obj(['value', random(200)], ['unit', 'kg'])])
  if (chance(30)) pairs.push(['code', obj(['coding', [obj(['system', 'http://loinc.org'], ['code', '29463-7'])]])])
  if (chance(20)) pairs.push(['extension', [obj(['url', someUrl()], ['valueBoolean', chance(50)])]])
  if (chance(10)) pairs.push(['link', [obj(['url', someUrl()])]]) // not a Bundle's link: left alone
  if (chance(3)) pairs.push(['resourceType', pick(['Observation', 'Bundle'])])
  return { pairs: shuffle(pairs) }
}

function link (): Json {
  if (chance(3)) return pick<Json>(['x', 1, null, []])
  const pairs: Array<[string, Json]> = [['relation', pick(['self', 'next', 'previous'])]]
  if (!chance(3)) pairs.push(['url', chance(3) ? pick<Json>([1, null, obj()]) : someUrl()])
  if (chance(3)) pairs.push(['url', someUrl()])
  return { pairs: shuffle(pairs) }
}

function entry (depth: number): Json {
  if (chance(2)) return pick<Json>(['x', 1, null])
  const pairs: Array<[string, Json]> = [['resource', resource(depth)], ['search', obj(['mode', 'match'])]]
  if (!chance(10)) pairs.push(['fullUrl', chance(2) ? 7 : someUrl()])
  if (chance(5)) pairs.push(['link', Array.from({ length: random(3) }, link)])
  if (chance(2)) pairs.push([pick(['fullUrl', 'resource', 'link']), someUrl()])
  return { pairs: shuffle(pairs) }
}

function bundle (depth = 0): Json {
  const pairs: Array<[string, Json]> = [
    ['resourceType', chance(97) ? 'Bundle' : 'OperationOutcome'],
    ['type', 'searchset'],
    ['total', random(100)],
    ['link', chance(97) ? Array.from({ length: random(3) }, link) : obj(['url', someUrl()])],
    ['entry', chance(98) ? Array.from({ length: random(5) }, () => entry(depth)) : obj()]
  ]
  if (chance(2)) pairs.push([pick(['link', 'entry', 'resourceType']), pick<Json>(['Bundle', []])])
  return { pairs: shuffle(pairs) }
}

function isBundleObject (value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { resourceType?: unknown }).resourceType === 'Bundle'
}

function shuffle<T> (list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = random(i + 1)
    ;[list[i], list[j]] = [list[j], list[i]]
  }
  return list
}

/** Checks one text: whatever the scanner gives must be valid JSON meaning exactly what the parsing way makes. */
function agrees (text: string): 'rewritten' | 'declined' | string {
  const scanned = rewriteBundleText(text, rewrite)
  const withheld: WithheldLink[] = []
  const parsed = byParsing(text, withheld)
  // Whatever way a Bundle takes, a link it loses is named in an outcome entry.
  if (withheld.length > 0 && isBundleObject(parsed) && !endsWithOutcome(parsed)) return 'links were withheld without an outcome entry'
  if (withheld.length === 0 && parsed !== undefined && endsWithOutcome(parsed)) return 'an outcome entry without a withheld link'
  if (scanned === undefined) {
    const whole = links.rewriteBundleJson(text)
    if (JSON.stringify(whole === undefined ? undefined : JSON.parse(whole)) !== JSON.stringify(parsed)) return 'rewriteBundleJson differs from the parsing way'
    return 'declined'
  }
  if (withheld.length > 0) return 'the scanner rewrote a Bundle that loses links'
  if (parsed === undefined) return 'the scanner accepted text that is not JSON'
  let mine: unknown
  try {
    mine = JSON.parse(scanned)
  } catch {
    return 'the scanner produced text that is not JSON'
  }
  if (JSON.stringify(mine) !== JSON.stringify(parsed)) return 'the scanner and the parsing way disagree'
  if (links.rewriteBundleJson(text) !== scanned) return 'rewriteBundleJson did not take the scanner\'s answer'
  return 'rewritten'
}

t.test('random Bundles: the scanner rewrites exactly as parsing does, or declines', async (t) => {
  const outcomes = new Map<string, number>()
  for (let i = 0; i < 3000; i++) {
    const text = emit(bundle())
    const outcome = agrees(text)
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
    if (outcome !== 'rewritten' && outcome !== 'declined') t.fail(`${outcome}: ${text}`)
  }
  const rewritten = outcomes.get('rewritten') ?? 0
  const declined = outcomes.get('declined') ?? 0
  t.equal(rewritten + declined, 3000, 'no disagreement')
  // Both ways must really be taken: a scanner that always declined would pass the rest.
  t.ok(rewritten > 300, `${rewritten} rewritten in the text`)
  t.ok(declined > 300, `${declined} left to the parsing way`)
})

t.test('damaged Bundles: the scanner never accepts text JSON.parse refuses', async (t) => {
  const damage = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', '-', '.', 'e', '+', 't', 'n', 'u', '\u0000', '\n', '\u001f', 'x', '\\u12']
  let accepted = 0
  let invalid = 0
  for (let i = 0; i < 4000; i++) {
    let text = emit(bundle())
    for (let cuts = 1 + random(2); cuts > 0; cuts--) {
      const at = random(text.length + 1)
      const kind = random(3)
      text = kind === 0
        ? text.slice(0, at) + text.slice(at + 1)
        : kind === 1
          ? text.slice(0, at) + pick(damage) + text.slice(at)
          : text.slice(0, at) + pick(damage) + text.slice(at + 1)
    }
    if (byParsing(text) === undefined) invalid++
    const outcome = agrees(text)
    if (outcome === 'rewritten') accepted++
    else if (outcome !== 'declined') t.fail(`${outcome}: ${JSON.stringify(text)}`)
  }
  t.ok(invalid > 1500, `${invalid} of 4000 damaged texts were not JSON`)
  t.ok(accepted > 100, `${accepted} damaged but still valid texts were rewritten`)
})

t.test('the plain case is rewritten in place, everything around the links kept byte for byte', async (t) => {
  const text = `{"resourceType":"Bundle","total":1.50e1,"link":[{"relation":"self","url":"${BASE}/Observation?patient=p1"}],` +
    `"entry":[{"fullUrl":"${BASE}/Observation/1","resource":{"resourceType":"Observation","id":"1","note":"a \\"quoted\\" \\u00e9"}},` +
    '{"fullUrl":"urn:uuid:8c2f3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b","resource":{"resourceType":"Observation"}}]}'
  t.equal(rewriteBundleText(text, rewrite),
    `{"resourceType":"Bundle","total":1.50e1,"link":[{"relation":"self","url":"${GATEWAY}/Observation?patient=p1"}],` +
    `"entry":[{"fullUrl":"${GATEWAY}/Observation/1","resource":{"resourceType":"Observation","id":"1","note":"a \\"quoted\\" \\u00e9"}},` +
    '{"fullUrl":"urn:uuid:8c2f3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b","resource":{"resourceType":"Observation"}}]}')
  const escaped = `{"resourceType":"Bundle","link":[{"\\u0075rl":"${BASE.replace(/\//g, '\\/')}\\/Patient\\/1"}]}`
  t.equal(rewriteBundleText(escaped, rewrite), `{"resourceType":"Bundle","link":[{"\\u0075rl":"${GATEWAY}/Patient/1"}]}`, 'escaped keys and slashes are read as JSON reads them')
})

t.test('what the scanner leaves to the parsing way', async (t) => {
  const link = (url: string) => `{"relation":"self","url":"${url}"}`
  const cases: Array<[string, string]> = [
    ['a link that must be dropped', `{"resourceType":"Bundle","link":[${link('https://evil.example/x')}]}`],
    ['a url written twice', `{"resourceType":"Bundle","link":[{"url":"${BASE}/Patient/1","url":"https://evil.example/x"}]}`],
    ['a url written twice, once escaped', `{"resourceType":"Bundle","link":[{"url":"${BASE}/Patient/1","\\u0075rl":"${BASE}/Patient/2"}]}`],
    ['a link without a url', '{"resourceType":"Bundle","link":[{"relation":"self"}]}'],
    ['a link that is not an object', '{"resourceType":"Bundle","link":["x"]}'],
    ['a link list that is not a list', `{"resourceType":"Bundle","link":${link(`${BASE}/Patient/1`)}}`],
    ['a nested Bundle', '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Bundle"}}]}'],
    ['a resourceType written twice', '{"resourceType":"Bundle","resourceType":"Bundle","link":[]}'],
    ['not a Bundle', `{"resourceType":"OperationOutcome","link":[${link('https://evil.example/x')}]}`],
    ['no resourceType', '{"link":[]}'],
    ['not JSON', '{"resourceType":"Bundle",}'],
    ['text after the Bundle', '{"resourceType":"Bundle"} {}'],
    ['a raw control character in a string', '{"resourceType":"Bundle","type":"a\u0001b"}'],
    ['nesting deeper than the scanner goes', `{"resourceType":"Bundle","x":${'['.repeat(5000)}${']'.repeat(5000)}}`]
  ]
  for (const [what, text] of cases) t.equal(rewriteBundleText(text, rewrite), undefined, what)
  const withheld: WithheldLink[] = []
  const evil = byParsing(`{"resourceType":"Bundle","link":[${link('https://evil.example/x')}]}`, withheld) as { link: unknown[], entry: unknown[] }
  t.same(evil.link, [], 'which drops the foreign link')
  t.same(withheld, [{ relation: 'self', host: 'evil.example' }], 'and reports it')
  t.ok(endsWithOutcome(evil), 'in an outcome entry')
  t.equal(links.rewriteBundleJson('{"resourceType":"Bundle",}'), undefined, 'and refuses what is not JSON')
})

t.test('a withheld next link is named in an outcome entry, whichever way the Bundle takes', async (t) => {
  const page = (next: string) => `{"resourceType":"Bundle","type":"searchset","total":30,"link":[{"relation":"self","url":"${BASE}/Observation?patient=p1"},{"relation":"next","url":"${next}"}],` +
    `"entry":[{"fullUrl":"${BASE}/Observation/1","resource":{"resourceType":"Observation","id":"1"},"search":{"mode":"match"}}]}`
  const foreign = page('https://other.example/fhir/r4/JAFJCD?_getpages=Observation.p1&_getpagesoffset=10&access_token=secret')
  for (const [way, rewriteWay] of [['rewriteBundleJson (scanner first)', (text: string, w: WithheldLink[]) => links.rewriteBundleJson(text, w)], ['the parsing way', (text: string, w: WithheldLink[]) => links.rewriteBundleJsonByParsing(text, w)]] as const) {
    const withheld: WithheldLink[] = []
    const out = rewriteWay(foreign, withheld)!
    const bundle = JSON.parse(out) as {
      link: Array<{ relation: string }>,
      entry: Array<{
        search: { mode: string },
        resource: { resourceType: string, issue: Array<{ severity: string, details: { text: string } }> }
      }>
    }
    t.same(bundle.link.map((l) => l.relation), ['self'], `${way}: next is withheld`)
    t.same(withheld, [{ relation: 'next', host: 'other.example' }], `${way}: and reported`)
    const outcome = bundle.entry[bundle.entry.length - 1]
    t.equal(outcome.search.mode, 'outcome', `${way}: the last entry is the outcome`)
    t.equal(outcome.resource.issue[0].severity, 'warning')
    t.match(outcome.resource.issue[0].details.text, '"next" (on other.example)')
    t.notMatch(out, /secret|_getpages=Observation\.p1&_getpagesoffset=10/, `${way}: nothing of the withheld URL but its host`)
  }
  const mapped = page(`${BASE}?_getpages=Observation.p1&_getpagesoffset=10`)
  t.notMatch(links.rewriteBundleJson(mapped)!, /outcome/, 'a Bundle that keeps its links gets no outcome')
  t.equal(JSON.parse(links.rewriteBundleJsonByParsing('{"resourceType":"Bundle","link":[{"relation":"next","url":"https://x.example/"}]}')!).entry.length, 1, 'a Bundle without entries gets one')
})
