import t from 'tap'
import type { Practice } from '../../lib/directory/practice.js'
import { parseDirectoryBundle } from '../../lib/directory/bundle.js'
import { PracticeSearchIndex, smallestKeys } from '../../lib/directory/search-index.js'
import { runSlicesAsync } from '../../lib/directory/slices.js'
import { healowSizedBundle } from '../helpers/synthetic-bundle.js'
import { MAX_QUERY_LENGTH } from '../../schemas/tenants.js'
import { foldText, searchWords } from '../../lib/directory/search-text.js'
import { boundedEditDistance, deletionHashes, textHash, TypoIndex } from '../../lib/directory/typo-index.js'

const practice = (id: string, name: string): Practice => ({
  id, name, fhirBase: `https://fhir4.healow.com/fhir/r4/${id}`, authorizeUrl: 'https://a.example', tokenUrl: 'https://t.example'
})

const index = PracticeSearchIndex.of([
  practice('CARD01', 'Advanced Cardiology Associates'),
  practice('CARD02', 'Cardiology'),
  practice('CARD03', 'Cardiac Care Clinic, P.C.'),
  practice('CARE01', 'Care Partners'),
  practice('HOSP01', 'Hospital General Castañer INC'),
  practice('PEDS01', 'Houston Pediatrics PLLC'),
  practice('PEDS02', 'Pediatric Associates of Houston'),
  practice('PEDS03', 'Dallas Pediatrics'),
  practice('OCON01', "Lynn O'Connor, M.D."),
  practice('MULL01', 'Praxis Müller'),
  practice('JAFJCD', 'FHIR R4 Prodtest EMR'),
  practice('sandbox_healow', 'Healow Sandbox (eClinicalWorks)')
])
const ids = (query: string, limit = 20): string[] => index.search(query, limit).practices.map((p) => p.id)

t.test('text folds case, accents and punctuation', async (t) => {
  t.equal(foldText('Hospital General CASTAÑER, Inc.'), 'hospital general castaner inc')
  t.equal(foldText("Lynn O'Connor, M.D."), 'lynn oconnor md')
  t.equal(foldText('Straße Œuvre Ørsted Łódź'), 'strasse oeuvre orsted lodz')
  t.equal(foldText('Allergy & Asthma / Tri-County'), 'allergy asthma tri county')
  t.equal(foldText('ﬁne ＡＢＣ'), 'fine abc', 'compatibility forms (ligatures, full width) fold by NFKD')
  t.same(searchWords('  --  '), [])
})

t.test('edit distance counts a swap of neighbours as one and stops past the limit', async (t) => {
  t.equal(boundedEditDistance('cardiology', 'cardiology', 2), 0)
  t.equal(boundedEditDistance('cardilogy', 'cardiology', 2), 1)
  t.equal(boundedEditDistance('cardoilogy', 'cardiology', 2), 1)
  t.equal(boundedEditDistance('kardilogy', 'cardiology', 2), 2)
  t.equal(boundedEditDistance('xyzdiology', 'cardiology', 2), 3, 'over the limit: limit + 1')
  t.equal(boundedEditDistance('a', 'abcd', 2), 3)
  t.same(deletionHashes('abc', 1).sort(), ['abc', 'bc', 'ac', 'ab'].map(textHash).sort())
  t.same(deletionHashes('abcd', 2).length, 1 + 4 + 6, 'the word, 4 single and 6 double deletions')
  t.ok(deletionHashes('abcd', 2).includes(textHash('ad')))
  const typos = TypoIndex.of(['cardiology', 'care', 'card'])
  t.same([...typos.near('cardilogy')], [[0, 1]])
  t.same([...typos.near('car')], [], 'no typo allowed in a three-letter word')
})

t.test('a word prefix finds the word', async (t) => {
  t.same(ids('card'), ['CARD02', 'CARD03', 'CARD01', 'CARE01'],
    'prefix of the first word before a later word, shorter names first; "care" (one typo) last')
  t.same(ids('CARDIO'), ['CARD02', 'CARD01'])
  t.same(ids('pedia'), ['PEDS02', 'PEDS03', 'PEDS01'])
})

t.test('a typo is forgiven, ranked after exact and prefix matches', async (t) => {
  t.same(ids('cardilogy'), ['CARD02', 'CARD01'])
  t.same(ids('pediatrcs'), ['PEDS03', 'PEDS01', 'PEDS02'], 'one typo from "pediatrics" before two from "pediatric"')
  t.same(ids('care'), ['CARE01', 'CARD03'], 'the exact word first, then the same word later in a name')
  t.same(ids('zzz'), [])
})

t.test('several words narrow the match, in any order', async (t) => {
  t.same(ids('houston pediatrics'), ['PEDS01', 'PEDS02'])
  t.same(ids('pediatric hous'), ['PEDS02', 'PEDS01'], 'exact "pediatric" outranks the prefix')
  t.same(ids('dallas pediatrics'), ['PEDS03'])
  t.same(ids('dallas cardiology'), [])
})

t.test('accents and punctuation do not matter on either side', async (t) => {
  t.same(ids('castaner'), ['HOSP01'])
  t.same(ids('CASTAÑER'), ['HOSP01'])
  t.same(ids('muller'), ['MULL01'])
  t.same(ids('müller'), ['MULL01'])
  t.same(ids('oconnor'), ['OCON01'])
  t.same(ids("o'connor m.d."), ['OCON01'])
})

t.test('an exact id ranks first, case-insensitively', async (t) => {
  t.same(ids('jafjcd'), ['JAFJCD'])
  t.same(ids('SANDBOX_HEALOW'), ['sandbox_healow'])
  t.equal(index.get('Card01')?.name, 'Advanced Cardiology Associates')
  t.equal(index.get('nope'), undefined)
  t.equal(index.search('jafjcd', 10).total, 1)
})

t.test('an empty query lists by name; limit and offset page', async (t) => {
  const all = index.search('', 100)
  t.equal(all.total, 12)
  t.same(all.practices.map((p) => p.name).slice(0, 3), ['Advanced Cardiology Associates', 'Cardiac Care Clinic, P.C.', 'Cardiology'])
  t.same(index.search('  ', 2, 1).practices.map((p) => p.id), ['CARD03', 'CARD02'])
  t.same(index.search('card', 1, 1).practices.map((p) => p.id), ['CARD03'])
  t.equal(index.search('card', 1, 1).total, 4)
})

t.test('queries past the bounds are refused at once', async (t) => {
  const started = performance.now()
  t.throws(() => index.search('a'.repeat(10_000), 50), { name: 'InvalidQueryError', message: `the query is longer than ${MAX_QUERY_LENGTH} characters` })
  t.throws(() => index.search('a b c d e f g h i', 50), { name: 'InvalidQueryError' })
  t.ok(performance.now() - started < 50, 'fast')
  t.same(index.search('card card card card card card card card card', 5).total, 4, 'repeated words count once')
})

t.test('the smallest keys come out in order whatever the page size', async (t) => {
  const keys = Float64Array.from([5, 3, 9, 1, 7, 2, 8])
  t.same([...smallestKeys(keys, 7, 3)], [1, 2, 3])
  t.same([...smallestKeys(keys, 5, 10)], [1, 3, 5, 7, 9])
})

t.test('the index built in slices is the one built at once; order keys find their place again', async (t) => {
  const { practices } = parseDirectoryBundle(healowSizedBundle(3000, 4), { authorizeUrl: 'https://a.example', tokenUrl: 'https://t.example' })
  const atOnce = PracticeSearchIndex.of(practices)
  const inSlices = await runSlicesAsync(PracticeSearchIndex.build(practices))
  t.same(inSlices.practices, atOnce.practices)
  for (const query of ['cardiology', 'cardilogy', 'c', 'pain management', practices[17].id.toLowerCase()]) {
    t.same(inSlices.search(query, 20), atOnce.search(query, 20), query)
  }
  for (const ordinal of [0, 1, 1499, 2999]) {
    t.equal(atOnce.ordinalAfter(atOnce.orderKeyOf(ordinal)), ordinal + 1, `after practice ${ordinal}`)
  }
  t.equal(atOnce.ordinalAfter(`${atOnce.orderKeyOf(10)}\u0000`), 11, 'a key between two practices')
  t.equal(atOnce.get(practices[5].id.toLowerCase()), practices[5])
})
