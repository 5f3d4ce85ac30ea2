// Text folding shared by the index and the queries, so that both sides agree on what a word is.

// Latin letters that NFKD leaves whole (they are letters of their own, not a base letter plus a mark).
const LETTERS_WITHOUT_DECOMPOSITION: Record<string, string> = {
  ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i'
}

const COMBINING_MARKS = /\p{M}+/gu
const UNDECOMPOSED_LETTERS = /[ßæœøłđðþı]/g
// Apostrophes and periods join ("O'Connor" → "oconnor", "M.D." → "md"); any other non-letter separates words.
const JOINING_PUNCTUATION = /['’‘`.]/g
const SEPARATORS = /[^\p{L}\p{N}]+/gu

/** Lower case, without accents, with punctuation folded: "Castañer, M.D." → "castaner md". */
export function foldText (text: string): string {
  return text
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .toLowerCase()
    .replace(UNDECOMPOSED_LETTERS, (letter) => LETTERS_WITHOUT_DECOMPOSITION[letter])
    .replace(JOINING_PUNCTUATION, '')
    .replace(SEPARATORS, ' ')
    .trim()
}

/** The folded words of a text, in order. */
export function searchWords (text: string): string[] {
  const folded = foldText(text)
  return folded === '' ? [] : folded.split(' ')
}
