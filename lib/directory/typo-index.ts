import { runSlices } from './slices.js'
import { partitionPoint } from './sorted.js'

// Typo tolerance by symmetric deletion: two words within edit distance d share a string obtained by deleting
// at most d letters from each, so a lookup costs a few dozen binary searches instead of a scan of every word.

/** How many typos a word of this length may carry: none for very short words, where any typo is noise. */
export function typoBudget (length: number): number {
  return length >= 8 ? 2 : length >= 4 ? 1 : 0
}

/** FNV-1a of the characters of `word` at the positions not in `skipA`/`skipB`: a deletion variant, never built. */
function variantHash (word: string, skipA: number, skipB: number): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < word.length; i++) {
    if (i === skipA || i === skipB) continue
    hash = Math.imul(hash ^ word.charCodeAt(i), 0x01000193)
  }
  return hash >>> 0
}

/**
 * The hashes of every string made by deleting up to `maxDeletions` (0 to 2) characters from `word`, the word
 * itself included; a variant reached in two ways (a doubled letter) is listed twice.
 */
export function deletionHashes (word: string, maxDeletions: number): number[] {
  const hashes = [variantHash(word, -1, -1)]
  if (maxDeletions >= 1) {
    for (let i = 0; i < word.length; i++) hashes.push(variantHash(word, i, -1))
  }
  if (maxDeletions >= 2) {
    for (let i = 0; i < word.length; i++) {
      for (let j = i + 1; j < word.length; j++) hashes.push(variantHash(word, i, j))
    }
  }
  return hashes
}

/** The hash deletionHashes gives a variant equal to `text`. */
export function textHash (text: string): number {
  return variantHash(text, -1, -1)
}

/**
 * Edit distance counting an insertion, a deletion, a substitution or a swap of two neighbours as one
 * (optimal string alignment); returns `limit + 1` as soon as the distance is known to exceed `limit`.
 */
export function boundedEditDistance (a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let beforePrevious = new Array<number>(b.length + 1).fill(0)
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  let current = new Array<number>(b.length + 1).fill(0)
  for (let i = 1; i <= a.length; i++) {
    current[0] = i
    let rowMinimum = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, beforePrevious[j - 2] + 1)
      }
      current[j] = value
      if (value < rowMinimum) rowMinimum = value
    }
    if (rowMinimum > limit) return limit + 1
    ;[beforePrevious, previous, current] = [previous, current, beforePrevious]
  }
  return Math.min(previous[b.length], limit + 1)
}

// A variant key is its hash times WORD_SLOTS plus the id of the word it comes from: every key fits a double
// exactly, and keys sorted as numbers group the words of one variant hash together.
const WORD_SLOTS = 2 ** 21
// Words between two chances to pause (see runSlicesAsync): 1,000 took up to 6 ms here.
const WORDS_PER_STEP = 200
const BUCKET_SHIFT = 24 // 256 buckets by the top 8 bits of a 32-bit hash
const BUCKETS = 2 ** (32 - BUCKET_SHIFT)

/**
 * Finds the words of a fixed vocabulary within a word's typo budget. The deletion variants are kept as sorted
 * numbers (8 bytes each) rather than as strings in a map (about 80 bytes each, for hundreds of thousands of
 * variants); a hash collision only adds a candidate, which the edit distance then rules out.
 */
export class TypoIndex {
  private constructor (private readonly vocabulary: readonly string[], private readonly keys: Float64Array) {}

  static of (vocabulary: readonly string[]): TypoIndex {
    return runSlices(TypoIndex.build(vocabulary))
  }

  /** The index of `vocabulary` from the `sortedKeys` of one built over it (in another process). */
  static fromKeys (vocabulary: readonly string[], sortedKeys: Float64Array): TypoIndex {
    return new TypoIndex(vocabulary, sortedKeys)
  }

  /** What the index is, besides its vocabulary: one sorted number per deletion variant. */
  get sortedKeys (): Float64Array {
    return this.keys
  }

  /** Builds the index, yielding every WORDS_PER_STEP words. */
  static * build (vocabulary: readonly string[]): Generator<void, TypoIndex> {
    if (vocabulary.length >= WORD_SLOTS) throw new Error(`more than ${WORD_SLOTS - 1} distinct words`)
    // The keys go straight to their bucket (by the top bits of the hash), so that each bucket can be sorted on
    // its own (no single native sort is long) and no unsorted copy of them all is ever held: the hashes are
    // computed twice, once to size the buckets and once to fill them, which costs less than that copy.
    const bucketStart = new Int32Array(BUCKETS + 1)
    for (let wordId = 0; wordId < vocabulary.length; wordId++) {
      const word = vocabulary[wordId]
      for (const hash of deletionHashes(word, typoBudget(word.length))) bucketStart[(hash >>> BUCKET_SHIFT) + 1]++
      if (wordId % WORDS_PER_STEP === WORDS_PER_STEP - 1) yield
    }
    for (let bucket = 0; bucket < BUCKETS; bucket++) bucketStart[bucket + 1] += bucketStart[bucket]
    const keys = new Float64Array(bucketStart[BUCKETS])
    const next = bucketStart.slice(0, BUCKETS)
    for (let wordId = 0; wordId < vocabulary.length; wordId++) {
      const word = vocabulary[wordId]
      for (const hash of deletionHashes(word, typoBudget(word.length))) {
        keys[next[hash >>> BUCKET_SHIFT]++] = hash * WORD_SLOTS + wordId
      }
      if (wordId % WORDS_PER_STEP === WORDS_PER_STEP - 1) yield
    }
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      keys.subarray(bucketStart[bucket], bucketStart[bucket + 1]).sort()
      if (bucket % 32 === 31) yield
    }
    // A doubled letter gives the same variant twice: keep one (the few left over at the end are not copied away).
    let kept = 0
    for (let i = 0; i < keys.length; i++) {
      if (kept === 0 || keys[i] !== keys[kept - 1]) keys[kept++] = keys[i]
    }
    return new TypoIndex(vocabulary, keys.subarray(0, kept))
  }

  /** Vocabulary word id → edit distance (at least 1), for the words within `word`'s typo budget. */
  near (word: string): Map<number, number> {
    const budget = typoBudget(word.length)
    const found = new Map<number, number>()
    if (budget === 0) return found
    const checked = new Set<number>()
    const { keys } = this
    for (const hash of deletionHashes(word, budget)) {
      const from = hash * WORD_SLOTS
      const to = from + WORD_SLOTS
      for (let at = partitionPoint(keys.length, (i) => keys[i] < from); at < keys.length && keys[at] < to; at++) {
        const wordId = keys[at] - from
        if (checked.has(wordId)) continue
        checked.add(wordId)
        const distance = boundedEditDistance(word, this.vocabulary[wordId], budget)
        if (distance >= 1 && distance <= budget) found.set(wordId, distance)
      }
    }
    return found
  }
}
