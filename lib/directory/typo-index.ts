// Typo tolerance by symmetric deletion: two words within edit distance d share a string obtained by deleting
// at most d letters from each, so a lookup costs a few dozen map hits instead of a scan of every word.

/** How many typos a word of this length may carry: none for very short words, where any typo is noise. */
export function typoBudget (length: number): number {
  return length >= 8 ? 2 : length >= 4 ? 1 : 0
}

/** Every string made by deleting up to `maxDeletions` characters from `word`, the word itself included. */
export function deletionVariants (word: string, maxDeletions: number): Set<string> {
  const variants = new Set<string>([word])
  let frontier = [word]
  for (let round = 0; round < maxDeletions; round++) {
    const next: string[] = []
    for (const variant of frontier) {
      for (let i = 0; i < variant.length; i++) {
        const shorter = variant.slice(0, i) + variant.slice(i + 1)
        if (!variants.has(shorter)) { variants.add(shorter); next.push(shorter) }
      }
    }
    frontier = next
  }
  return variants
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

/** Finds the words of a fixed vocabulary within a word's typo budget. */
export class TypoIndex {
  // Deletion variant → ids of the vocabulary words it comes from (a number when there is only one: most do).
  private readonly variants = new Map<string, number | number[]>()

  constructor (private readonly vocabulary: readonly string[]) {
    vocabulary.forEach((word, wordId) => {
      for (const variant of deletionVariants(word, typoBudget(word.length))) {
        const known = this.variants.get(variant)
        if (known === undefined) this.variants.set(variant, wordId)
        else if (typeof known === 'number') this.variants.set(variant, [known, wordId])
        else known.push(wordId)
      }
    })
  }

  /** Vocabulary word id → edit distance (at least 1), for the words within `word`'s typo budget. */
  near (word: string): Map<number, number> {
    const budget = typoBudget(word.length)
    const found = new Map<number, number>()
    if (budget === 0) return found
    const checked = new Set<number>()
    for (const variant of deletionVariants(word, budget)) {
      const known = this.variants.get(variant)
      if (known === undefined) continue
      for (const wordId of typeof known === 'number' ? [known] : known) {
        if (checked.has(wordId)) continue
        checked.add(wordId)
        const distance = boundedEditDistance(word, this.vocabulary[wordId], budget)
        if (distance >= 1 && distance <= budget) found.set(wordId, distance)
      }
    }
    return found
  }
}
