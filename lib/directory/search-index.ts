import type { Practice } from './practice.js'
import { foldText, searchWords } from './search-text.js'
import { runSlices } from './slices.js'
import { compareStrings, partitionPoint, sortInSlices } from './sorted.js'
import { TypoIndex } from './typo-index.js'
import { MAX_QUERY_LENGTH } from '../../schemas/limits.js'

// Bounds that keep every query cheap: a real practice name has at most 14 words and under 100 letters.
export const MAX_QUERY_WORDS = 8

/** A query outside the bounds above; its message is fit to show to the caller. */
export class InvalidQueryError extends Error {
  override name = 'InvalidQueryError'
}

export interface SearchPage {
  practices: Practice[]
  /** How many practices match in all. */
  total: number
}

// How well one query word matches one word of a name: an exact word beats a prefix, which beats a typo.
const EXACT = 4
const PREFIX = 3
const ONE_TYPO = 2
const TWO_TYPOS = 1

// Ranking key fields, packed into one number so that a typed-array sort orders the matches.
const POSITION_SLOTS = 128
const NAME_LENGTH_SLOTS = 1024

/** How one query word is matched against the vocabulary: ids are positions in the sorted vocabulary. */
interface WordMatcher {
  exact: number
  prefixFrom: number
  prefixTo: number
  typos: Map<number, number>
  /** Number of (practice, word) postings this word reaches: the cheapest word generates the candidates. */
  reach: number
}

function lowerBound (sorted: readonly string[], value: string): number {
  return partitionPoint(sorted.length, (i) => sorted[i] < value)
}

/**
 * The `wanted` smallest of `keys[0 .. count)`, in increasing order. A bounded max-heap: a short prefix such as
 * "c" matches thousands of practices, of which a page needs fifty, so sorting them all would be wasted work.
 */
export function smallestKeys (keys: Float64Array, count: number, wanted: number): Float64Array {
  if (wanted >= count) return keys.slice(0, count).sort()
  const heap = keys.slice(0, wanted)
  const siftDown = (from: number): void => {
    let parent = from
    for (;;) {
      const left = 2 * parent + 1
      if (left >= wanted) return
      const child = left + 1 < wanted && heap[left + 1] > heap[left] ? left + 1 : left
      if (heap[child] <= heap[parent]) return
      ;[heap[child], heap[parent]] = [heap[parent], heap[child]]
      parent = child
    }
  }
  for (let i = (wanted >> 1) - 1; i >= 0; i--) siftDown(i)
  for (let i = wanted; i < count; i++) {
    if (keys[i] < heap[0]) { heap[0] = keys[i]; siftDown(0) }
  }
  return heap.sort()
}

// How many practices the build handles between two chances to pause. runSlicesAsync pauses only once its slice
// of time is up, so a chance costs little; a step of 2,000 practices took 3-11 ms here, far too long on a slower box.
const PRACTICES_PER_STEP = 250

/** The ordering key of a practice in name order: folded name, then name, then id. */
function orderKey (practice: Practice): string {
  return `${foldText(practice.name)}\u0000${practice.name}\u0000${practice.id}`
}

/**
 * What an index is made of besides its practices: built by PracticeSearchIndex.build, or sent over from the
 * directory's import process, which builds the index off the gateway's thread.
 */
export interface SearchIndexArrays {
  byId: Int32Array
  vocabulary: string[]
  typoKeys: Float64Array
  postingStart: Int32Array
  postingOrdinals: Int32Array
  nameWordStart: Int32Array
  nameWords: Int32Array
  /** Each name's length as the ranking counts it, read for every candidate without visiting its record. */
  rankedNameLength: Uint16Array
}

/**
 * An immutable search index over one directory: an inverted index from folded words to practices, a sorted
 * vocabulary so that a prefix is a contiguous range, and a deletion index for typos. Per practice it keeps the
 * record and a few numbers; whatever can be derived from the record again (folded names, ordering keys,
 * lower-case ids) is derived when asked rather than kept.
 */
export class PracticeSearchIndex {
  /** Practices in name order (folded name, then name, then id); a practice's position here is its ordinal. */
  readonly practices: readonly Practice[]
  // Ordinals sorted by lower-case id (then ordinal), for the case-insensitive id lookup.
  private readonly byId: Int32Array
  private readonly vocabulary: string[]
  private readonly typoIndex: TypoIndex
  // Postings of vocabulary word w: postingOrdinals[postingStart[w] .. postingStart[w + 1]).
  private readonly postingStart: Int32Array
  private readonly postingOrdinals: Int32Array
  // Words of practice p, in name order, as vocabulary ids: nameWords[nameWordStart[p] .. nameWordStart[p + 1]).
  private readonly nameWordStart: Int32Array
  private readonly nameWords: Int32Array
  // Stamp per practice to collect candidates without allocating a set per query.
  private readonly candidateStamp: Int32Array
  private stamp = 0
  // Ranking keys of the current query's matches (one per practice at most).
  private readonly keyBuffer: Float64Array
  private readonly rankedNameLength: Uint16Array

  private constructor (
    practices: readonly Practice[],
    arrays: SearchIndexArrays,
    typoIndex = TypoIndex.fromKeys(arrays.vocabulary, arrays.typoKeys)
  ) {
    this.practices = practices
    this.byId = arrays.byId
    this.vocabulary = arrays.vocabulary
    this.typoIndex = typoIndex
    this.postingStart = arrays.postingStart
    this.postingOrdinals = arrays.postingOrdinals
    this.nameWordStart = arrays.nameWordStart
    this.nameWords = arrays.nameWords
    this.candidateStamp = new Int32Array(this.practices.length)
    this.keyBuffer = new Float64Array(this.practices.length)
    this.rankedNameLength = arrays.rankedNameLength
  }

  /** The index, built at once (for a command line or a test). */
  static of (practices: readonly Practice[]): PracticeSearchIndex {
    return runSlices(PracticeSearchIndex.build(practices))
  }

  /**
   * The index of `practices` (in name order, as `index.practices` was) from the arrays of one built over
   * them elsewhere. Throws when the arrays do not fit the practices.
   */
  static fromArrays (practices: readonly Practice[], arrays: SearchIndexArrays): PracticeSearchIndex {
    const { byId, vocabulary, postingStart, postingOrdinals, nameWordStart, nameWords, rankedNameLength } = arrays
    const fits = byId.length === practices.length && rankedNameLength.length === practices.length &&
      nameWordStart.length === practices.length + 1 &&
      nameWordStart[practices.length] === nameWords.length && postingStart.length === vocabulary.length + 1 &&
      postingStart[vocabulary.length] === postingOrdinals.length
    if (!fits) throw new Error('the search index does not fit its practices')
    return new PracticeSearchIndex(practices, arrays)
  }

  /** What the index is made of besides its practices, for fromArrays. */
  arrays (): SearchIndexArrays {
    const { byId, vocabulary, postingStart, postingOrdinals, nameWordStart, nameWords, rankedNameLength } = this
    const typoKeys = this.typoIndex.sortedKeys
    return { byId, vocabulary, typoKeys, postingStart, postingOrdinals, nameWordStart, nameWords, rankedNameLength }
  }

  /** The index, built in slices that each end with a `yield` (see runSlicesAsync). */
  static * build (practices: readonly Practice[]): Generator<void, PracticeSearchIndex> {
    const keyed: Array<{ practice: Practice, key: string }> = []
    for (const practice of practices) {
      keyed.push({ practice, key: orderKey(practice) })
      if (keyed.length % PRACTICES_PER_STEP === 0) yield
    }
    yield * sortInSlices(keyed, (a, b) => compareStrings(a.key, b.key))
    const inOrder = keyed.map((entry) => entry.practice)
    yield

    const lowerIds = inOrder.map((practice) => practice.id.toLowerCase())
    const byLowerId = (a: number, b: number): number => compareStrings(lowerIds[a], lowerIds[b]) || a - b
    const idOrder = yield * sortInSlices([...inOrder.keys()], byLowerId)
    const byId = Int32Array.from(idOrder)
    yield

    const wordsOfPractice: string[][] = []
    // Gathered as the names are split: a Set of every word at once, from all their lists, held the loop ~10 ms.
    const distinctWords = new Set<string>()
    for (const practice of inOrder) {
      const words = searchWords(practice.name)
      wordsOfPractice.push(words)
      for (const word of words) distinctWords.add(word)
      if (wordsOfPractice.length % PRACTICES_PER_STEP === 0) yield
    }
    const vocabulary = yield * sortInSlices([...distinctWords], compareStrings)
    const wordId = new Map(vocabulary.map((word, id) => [word, id]))
    yield
    const typoIndex = yield * TypoIndex.build(vocabulary)

    const nameWordStart = new Int32Array(inOrder.length + 1)
    const nameWords = new Int32Array(wordsOfPractice.reduce((sum, words) => sum + words.length, 0))
    const postingCount = new Int32Array(vocabulary.length)
    let next = 0
    for (let ordinal = 0; ordinal < inOrder.length; ordinal++) {
      const words = wordsOfPractice[ordinal]
      nameWordStart[ordinal] = next
      for (const word of words) nameWords[next++] = wordId.get(word)!
      for (const word of new Set(words)) postingCount[wordId.get(word)!]++
      if (ordinal % PRACTICES_PER_STEP === PRACTICES_PER_STEP - 1) yield
    }
    nameWordStart[inOrder.length] = next
    yield

    const postingStart = new Int32Array(vocabulary.length + 1)
    for (let id = 0; id < vocabulary.length; id++) postingStart[id + 1] = postingStart[id] + postingCount[id]
    const postingOrdinals = new Int32Array(postingStart[vocabulary.length])
    const filled = postingStart.slice(0, vocabulary.length)
    for (let ordinal = 0; ordinal < inOrder.length; ordinal++) {
      for (const word of new Set(wordsOfPractice[ordinal])) postingOrdinals[filled[wordId.get(word)!]++] = ordinal
      if (ordinal % PRACTICES_PER_STEP === PRACTICES_PER_STEP - 1) yield
    }
    // A loop: Uint16Array.from with a mapping function took 6-7 ms for 17,291 practices, this 0.1.
    const rankedNameLength = new Uint16Array(inOrder.length)
    for (let ordinal = 0; ordinal < inOrder.length; ordinal++) {
      rankedNameLength[ordinal] = Math.min(inOrder[ordinal].name.length, NAME_LENGTH_SLOTS - 1)
    }
    const typoKeys = typoIndex.sortedKeys
    return new PracticeSearchIndex(inOrder, {
      byId, vocabulary, typoKeys, postingStart, postingOrdinals, nameWordStart, nameWords, rankedNameLength
    }, typoIndex)
  }

  get size (): number {
    return this.practices.length
  }

  /** Case-insensitive exact id lookup. */
  get (id: string): Practice | undefined {
    const ordinal = this.ordinalOfId(id)
    return ordinal === undefined ? undefined : this.practices[ordinal]
  }

  private ordinalOfId (id: string): number | undefined {
    const wanted = id.toLowerCase()
    const lowerIdAt = (position: number): string => this.practices[this.byId[position]].id.toLowerCase()
    const position = partitionPoint(this.byId.length, (at) => lowerIdAt(at) < wanted)
    return position < this.byId.length && lowerIdAt(position) === wanted ? this.byId[position] : undefined
  }

  /** The ordering key of a practice in name order, for cursors that survive a refresh of the directory. */
  orderKeyOf (ordinal: number): string {
    return orderKey(this.practices[ordinal])
  }

  /** The first ordinal in name order that comes after `orderKey`. */
  ordinalAfter (key: string): number {
    return partitionPoint(this.practices.length, (ordinal) => this.orderKeyOf(ordinal) <= key)
  }

  /**
   * Practices matching every word of the query, best first, from `offset`. An empty query lists by name.
   * Throws InvalidQueryError when the query is out of bounds.
   */
  search (query: string, limit: number, offset = 0): SearchPage {
    if (query.length > MAX_QUERY_LENGTH) {
      throw new InvalidQueryError(`the query is longer than ${MAX_QUERY_LENGTH} characters`)
    }
    const words = [...new Set(searchWords(query))]
    if (words.length > MAX_QUERY_WORDS) {
      throw new InvalidQueryError(`the query has more than ${MAX_QUERY_WORDS} words`)
    }
    if (words.length === 0) {
      return { practices: this.practices.slice(offset, offset + limit), total: this.practices.length }
    }
    const matchers = words.map((word) => this.matcherFor(word))
    const { best, total } = this.rank(matchers, offset + limit + 1)
    // A query that is exactly a practice's id puts that practice first, whether or not its name matches.
    const idOrdinal = this.ordinalOfId(query.trim())
    if (idOrdinal === undefined) {
      return { practices: best.slice(offset, offset + limit).map((ordinal) => this.practices[ordinal]), total }
    }
    const ordinals = [idOrdinal, ...best.filter((ordinal) => ordinal !== idOrdinal)]
    return {
      practices: ordinals.slice(offset, offset + limit).map((ordinal) => this.practices[ordinal]),
      total: this.rankingKey(idOrdinal, matchers) >= 0 ? total : total + 1
    }
  }

  private matcherFor (word: string): WordMatcher {
    const prefixFrom = lowerBound(this.vocabulary, word)
    const prefixTo = lowerBound(this.vocabulary, `${word}\uffff`)
    const typos = this.typoIndex.near(word)
    let reach = this.postingStart[prefixTo] - this.postingStart[prefixFrom]
    for (const id of typos.keys()) reach += this.postingStart[id + 1] - this.postingStart[id]
    return {
      exact: this.vocabulary[prefixFrom] === word ? prefixFrom : -1,
      prefixFrom,
      prefixTo,
      typos,
      reach
    }
  }

  /** The `wanted` best matching ordinals, best first, and how many practices match every word. */
  private rank (matchers: WordMatcher[], wanted: number): { best: number[], total: number } {
    const narrowest = matchers.reduce((best, matcher) => (matcher.reach < best.reach ? matcher : best))
    const stamp = ++this.stamp
    const keys = this.keyBuffer
    const practiceCount = this.practices.length
    let total = 0
    const consider = (wordId: number): void => {
      for (let posting = this.postingStart[wordId]; posting < this.postingStart[wordId + 1]; posting++) {
        const ordinal = this.postingOrdinals[posting]
        if (this.candidateStamp[ordinal] === stamp) continue
        this.candidateStamp[ordinal] = stamp
        const key = this.rankingKey(ordinal, matchers)
        if (key >= 0) keys[total++] = key
      }
    }
    for (let wordId = narrowest.prefixFrom; wordId < narrowest.prefixTo; wordId++) consider(wordId)
    for (const wordId of narrowest.typos.keys()) consider(wordId)
    return { best: Array.from(smallestKeys(keys, total, wanted), (key) => key % practiceCount), total }
  }

  /** A number that sorts better matches first, or -1 when some query word matches no word of the name. */
  private rankingKey (ordinal: number, matchers: WordMatcher[]): number {
    const from = this.nameWordStart[ordinal]
    const to = this.nameWordStart[ordinal + 1]
    let strength = 0
    let positions = 0
    for (const matcher of matchers) {
      let best = 0
      let bestPosition = 0
      for (let at = from; at < to && best < EXACT; at++) {
        const wordId = this.nameWords[at]
        let match = 0
        if (wordId === matcher.exact) match = EXACT
        else if (wordId >= matcher.prefixFrom && wordId < matcher.prefixTo) match = PREFIX
        else {
          const distance = matcher.typos.get(wordId)
          if (distance !== undefined) match = distance === 1 ? ONE_TYPO : TWO_TYPOS
        }
        if (match > best) { best = match; bestPosition = at - from }
      }
      if (best === 0) return -1
      strength += best
      positions += bestPosition
    }
    const weakness = EXACT * matchers.length - strength
    const nameLength = this.rankedNameLength[ordinal]
    return ((weakness * POSITION_SLOTS + Math.min(positions, POSITION_SLOTS - 1)) * NAME_LENGTH_SLOTS + nameLength) *
      this.practices.length + ordinal
  }
}
