import t from 'tap'
import { BundleEntrySplitter } from '../../../lib/directory/bundle-stream.js'
import { seededRandom } from '../../../simulator/prng.js'
import { bundleOf } from '../../helpers/synthetic-bundle.js'

/** The entries the splitter hands over for `text` cut into pieces of `pieceLength`, or the error it throws. */
function split (text: string, pieceLength = text.length): unknown[] | Error {
  const entries: unknown[] = []
  const splitter = new BundleEntrySplitter((entry) => entries.push(entry))
  try {
    for (let at = 0; at < text.length; at += pieceLength) splitter.write(text.slice(at, at + pieceLength))
    splitter.end()
    return entries
  } catch (err) {
    return err as Error
  }
}

const NOT_JSON = Symbol('not JSON')

/** What JSON.parse makes of a Bundle text: its entries (none when it has no entry), or NOT_JSON. */
function parsedEntries (text: string): unknown[] | typeof NOT_JSON {
  try {
    return (JSON.parse(text) as { entry?: unknown[] }).entry ?? []
  } catch {
    return NOT_JSON
  }
}

// Names that put the string scanning to work: escaped quotes and backslashes, brackets, \u escapes, non-ASCII.
const TRICKY = bundleOf([
  { id: 'QUOTE1', name: 'The "Best" Clinic {not an object} [nor an array]', address: 'https://fhir4.healow.com/fhir/r4/QUOTE1' },
  { id: 'SLASH1', name: 'Back\\slash \\" Clinic\\', address: 'https://fhir4.healow.com/fhir/r4/SLASH1' },
  { id: 'ACCENT', name: 'Hospital General Castañer — Ñandú 東京', address: 'https://fhir4.healow.com/fhir/r4/ACCENT' }
])
const TRICKY_TEXT = JSON.stringify({ meta: { tag: [{ code: '}]"' }] }, ...TRICKY, total: 6, signature: null })
  .replace('Castañer', 'Casta\\u00f1er')
  .replaceAll('/', '\\/')

t.test('the entries are those JSON.parse finds, however the text is cut into pieces', async (t) => {
  const expected = parsedEntries(TRICKY_TEXT)
  for (const pieceLength of [1, 2, 3, 7, 64, TRICKY_TEXT.length]) {
    t.same(split(TRICKY_TEXT, pieceLength), expected, `pieces of ${pieceLength}`)
  }
  const pretty = JSON.stringify(JSON.parse(TRICKY_TEXT), null, 2).replaceAll('\n', '\r\n\t')
  t.same(split(pretty, 5), expected, 'with whitespace everywhere JSON allows it')
  t.same(split('{"entry":[],"resourceType":"Bundle"}'), [])
  t.same(split('{"resourceType":"Bundle"}'), [], 'no entry at all: no entries')
  t.same(split('{"resourceType":"Bundle","entry":null}'), [], 'entry null, as JSON.parse would read it: no entries')
  t.same(split('{"resourceType":"Bundle","entry":[1,"two",null,[3],{}]}'), [1, 'two', null, [3], {}],
    'entries of any shape are handed over (the collector counts them as skipped)')
})

t.test('a document that is JSON but no Bundle is refused, by its resourceType wherever it is', async (t) => {
  const jsonButNoBundle = ['{"resourceType":"OperationOutcome","issue":[]}',
    '{"entry":[{"resource":{}}],"resourceType":"Patient"}', '{"entry":[]}', '[]', '"Bundle"', '42']
  for (const text of jsonButNoBundle) {
    t.match(split(text), { name: 'DirectoryFormatError', message: 'the directory is not a FHIR Bundle' }, text)
  }
  t.match(split('{"resourceType":"Bundle","entry":{"resource":{}}}'),
    { name: 'DirectoryFormatError', message: 'the directory Bundle has no entry array' })
  t.match(split('{"resourceType":"Bundle","entry":"none"}'), { message: 'the directory Bundle has no entry array' })
  t.match(split('{"resourceType":"Bundle","entry":[],"entry":[{}]}'),
    { message: 'the directory Bundle has more than one entry' }, 'two entry arrays: which one JSON.parse keeps is no answer')

  let handedOver = 0
  const splitter = new BundleEntrySplitter(() => handedOver++)
  t.throws(() => splitter.write('{"resourceType":"OperationOutcome","entry":[{},'), { message: 'the directory is not a FHIR Bundle' })
  t.equal(handedOver, 0, 'a resourceType that comes first stops the reading before any entry')
})

t.test('text that is not JSON is refused, wherever the fault is', async (t) => {
  const notJson = { name: 'DirectoryFormatError', message: /^the directory is not valid JSON/ }
  for (const text of ['<html>', '', '   ', '{"resourceType":"Bundle","entry":[{}]}x', '{"resourceType":"Bundle",}',
    '{"resourceType" "Bundle"}', '{"resourceType":"Bundle","entry":[{},]}', '{"resourceType":"Bundle","entry":[{}}]}',
    '{"resourceType":"Bundle","entry":[{"a":tru}]}', '{"resourceType":"Bundle","entry":[{"a":"\\x"}]}',
    '{"resourceType":"Bundle","total":01,"entry":[]}', '{resourceType:"Bundle"}', '{"resourceType":"Bundle"}}']) {
    t.match(split(text, 3), notJson, JSON.stringify(text))
  }
  t.match(split(TRICKY_TEXT.slice(0, -1)), { message: 'the directory is not valid JSON: it ends early' })
})

t.test('a text cut anywhere is refused: the end of a piece is never taken for the end of the document', async (t) => {
  let refused = 0
  for (let length = 0; length < TRICKY_TEXT.length; length++) {
    const result = split(TRICKY_TEXT.slice(0, length), 16)
    if (result instanceof Error && result.name === 'DirectoryFormatError') refused++
  }
  t.equal(refused, TRICKY_TEXT.length, `all ${TRICKY_TEXT.length} truncations refused`)
})

t.test('one changed character: refused exactly when JSON.parse refuses, and the same entries otherwise', async (t) => {
  const random = seededRandom('bundle-stream mutations', 1)
  const replacements = '{}[]",:\\ 0-tnx\u00f1'
  let compared = 0
  let refusedByBoth = 0
  for (let round = 0; round < 3000; round++) {
    const at = Math.floor(random() * TRICKY_TEXT.length)
    const replacement = replacements[Math.floor(random() * replacements.length)]
    const text = TRICKY_TEXT.slice(0, at) + replacement + TRICKY_TEXT.slice(at + 1)
    const expected = parsedEntries(text)
    const result = split(text, 1 + Math.floor(random() * 40))
    if (expected === NOT_JSON) {
      if (!(result instanceof Error)) t.fail(`accepted what JSON.parse refuses: ${text}`)
      else refusedByBoth++
    } else if (!(result instanceof Error)) {
      t.same(result, expected, text)
      compared++
    } else {
      // JSON, but not a Bundle with one entry array any more (a changed key or resourceType).
      t.match(result.message, /not a FHIR Bundle|no entry array|more than one entry/, text)
    }
  }
  t.ok(compared > 100 && refusedByBoth > 100, `${compared} compared, ${refusedByBoth} refused by both`)
})
