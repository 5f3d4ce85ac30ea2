import { DirectoryFormatError, NO_ENTRY_ARRAY, NOT_A_BUNDLE } from './bundle.js'

/**
 * Reads a directory Bundle's JSON text piece by piece as it arrives and hands over each element of its top-level
 * `entry` array as soon as the element is complete, so that memory holds one piece and one entry rather than the
 * whole document (15 MB of text, and several times that once parsed).
 *
 * Only the outer object and the entry array are read here, character by character; every value in them (each
 * entry, `resourceType`, `meta`…) is cut out whole by matching brackets outside strings and parsed with
 * JSON.parse, which checks it. Together that is the whole JSON grammar: any invalid text throws, at the latest at
 * `end()`, so that a caller never takes half a document for a whole one.
 */
export class BundleEntrySplitter {
  private state = START
  private key = ''
  private resourceType: unknown
  private entrySeen = false
  // The value being cut out: the earlier pieces of its text, where it starts in the current piece, what it is.
  private capturing = false
  private captureParts: string[] = []
  private captureFrom = 0
  private captureTarget = KEY
  private captureScalar = false
  private depth = 0
  private inString = false
  // A backslash ended the last piece inside a string: the character after it, in this piece, is escaped.
  private skipNext = false
  // Where the next backslash and quote in the current piece are (-1: not looked for yet; the piece's length: none).
  private backslashAt = -1
  private quoteAt = -1

  constructor (private readonly onEntry: (entry: unknown) => void) {}

  /** Reads the next piece of the text. Throws DirectoryFormatError as soon as the text cannot be a Bundle. */
  write (text: string): void {
    this.backslashAt = -1
    this.quoteAt = -1
    let i = 0
    if (this.capturing) this.captureFrom = 0
    while (i < text.length) {
      if (this.capturing) {
        i = this.captureScalar ? this.scanScalar(text, i) : this.scanContainer(text, i)
        continue
      }
      const c = text.charCodeAt(i)
      if (c === SPACE || c === NEWLINE || c === RETURN || c === TAB) { i++; continue }
      this.step(c, i)
      if (!this.capturing) i++ // a value that starts here is scanned from its first character
    }
    if (this.capturing) {
      this.captureParts.push(text.slice(this.captureFrom))
    }
  }

  /** The text is complete: throws DirectoryFormatError unless it was a whole Bundle. */
  end (): void {
    if (this.state !== DONE) throw new DirectoryFormatError('the directory is not valid JSON: it ends early')
    if (this.resourceType !== 'Bundle') throw new DirectoryFormatError(NOT_A_BUNDLE)
  }

  /** One structural character `c` at `at`, outside any value being cut out. */
  private step (c: number, at: number): void {
    switch (this.state) {
      case START:
        if (c === OPEN_BRACE) { this.state = OBJECT_START; return }
        // Another JSON value (an array, a string…) is no Bundle; anything else is no JSON.
        throw new DirectoryFormatError(VALUE_STARTS.has(c) ? NOT_A_BUNDLE : NOT_JSON)
      case OBJECT_START:
        if (c === CLOSE_BRACE) { this.state = DONE; return }
        return this.expectKey(c, at)
      case MEMBER:
        return this.expectKey(c, at)
      case COLON:
        if (c !== COLON_CHAR) throw new DirectoryFormatError(NOT_JSON)
        this.state = MEMBER_VALUE
        return
      case MEMBER_VALUE:
        if (this.key === 'entry') {
          if (this.entrySeen) throw new DirectoryFormatError('the directory Bundle has more than one entry')
          this.entrySeen = true
          if (c === OPEN_BRACKET) { this.state = ENTRIES_START; return }
        }
        return this.startCapture(c, at, MEMBER_VALUE_TARGET)
      case AFTER_MEMBER:
        if (c === COMMA) { this.state = MEMBER; return }
        if (c === CLOSE_BRACE) { this.state = DONE; return }
        throw new DirectoryFormatError(NOT_JSON)
      case ENTRIES_START:
        if (c === CLOSE_BRACKET) { this.state = AFTER_MEMBER; return }
        return this.startCapture(c, at, ENTRY)
      case ENTRY_NEXT:
        return this.startCapture(c, at, ENTRY)
      case AFTER_ENTRY:
        if (c === COMMA) { this.state = ENTRY_NEXT; return }
        if (c === CLOSE_BRACKET) { this.state = AFTER_MEMBER; return }
        throw new DirectoryFormatError(NOT_JSON)
      default: // DONE: only whitespace may follow
        throw new DirectoryFormatError(NOT_JSON)
    }
  }

  private expectKey (c: number, at: number): void {
    if (c !== QUOTE) throw new DirectoryFormatError(NOT_JSON)
    this.startCapture(c, at, KEY)
  }

  private startCapture (c: number, at: number, target: number): void {
    if (c === CLOSE_BRACE || c === CLOSE_BRACKET || c === COMMA || c === COLON_CHAR) {
      throw new DirectoryFormatError(NOT_JSON)
    }
    this.capturing = true
    this.captureParts = []
    this.captureFrom = at
    this.captureTarget = target
    this.captureScalar = c !== OPEN_BRACE && c !== OPEN_BRACKET && c !== QUOTE
    this.depth = 0
    this.inString = false
  }

  /** Scans a number or literal from `i`: it ends before the first delimiter. Returns where scanning stopped. */
  private scanScalar (text: string, i: number): number {
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === SPACE || c === NEWLINE || c === RETURN ||
        c === TAB) {
        this.finishCapture(text, i)
        return i
      }
    }
    return i
  }

  /** Scans an object, array or string from `i` to its end. Returns where scanning stopped. */
  private scanContainer (text: string, i: number): number {
    if (this.skipNext) { this.skipNext = false; i++ }
    while (i < text.length) {
      if (this.inString) {
        if (this.quoteAt < i) this.quoteAt = nextIndexOf(text, '"', i)
        if (this.backslashAt < i) this.backslashAt = nextIndexOf(text, '\\', i)
        const quote = this.quoteAt
        if (this.backslashAt < quote) {
          // An escape: the character after the backslash never ends the string.
          i = this.backslashAt + 2
          if (i > text.length) { this.skipNext = true; return text.length }
          continue
        }
        if (quote === text.length) return text.length
        i = quote + 1
        this.inString = false
        if (this.depth === 0) { this.finishCapture(text, i); return i }
        continue
      }
      const c = text.charCodeAt(i++)
      if (c === QUOTE) {
        this.inString = true
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--this.depth === 0) { this.finishCapture(text, i); return i }
      }
    }
    return i
  }

  /** The value being cut out ends before `end` in the current piece: parse it and pass it on. */
  private finishCapture (text: string, end: number): void {
    this.capturing = false
    const last = text.slice(this.captureFrom, end)
    const valueText = this.captureParts.length === 0 ? last : this.captureParts.join('') + last
    this.captureParts = []
    let value: unknown
    try {
      value = JSON.parse(valueText)
    } catch {
      throw new DirectoryFormatError(NOT_JSON)
    }
    if (this.captureTarget === KEY) {
      this.key = value as string
      this.state = COLON
    } else if (this.captureTarget === ENTRY) {
      this.state = AFTER_ENTRY
      this.onEntry(value)
    } else {
      this.state = AFTER_MEMBER
      if (this.key === 'resourceType') {
        this.resourceType = value
        // Known before the entries in Healow's documents: a wrong document is refused before it is read.
        if (value !== 'Bundle') throw new DirectoryFormatError(NOT_A_BUNDLE)
      } else if (this.key === 'entry' && value !== null) {
        throw new DirectoryFormatError(NO_ENTRY_ARRAY)
      }
    }
  }
}

const NOT_JSON = 'the directory is not valid JSON'

/** The index of the next `search` in `text` from `from`, or the text's length when there is none. */
function nextIndexOf (text: string, search: string, from: number): number {
  const found = text.indexOf(search, from)
  return found === -1 ? text.length : found
}

// Where the reader is in the outer object and the entry array.
const START = 0
const OBJECT_START = 1 // after `{`: a key or `}`
const MEMBER = 2 // after `,`: a key
const COLON = 3
const MEMBER_VALUE = 4
const AFTER_MEMBER = 5 // `,` or `}`
const ENTRIES_START = 6 // after `[`: an entry or `]`
const ENTRY_NEXT = 7 // after `,`: an entry
const AFTER_ENTRY = 8 // `,` or `]`
const DONE = 9

// What a value being cut out is.
const KEY = 0
const MEMBER_VALUE_TARGET = 1
const ENTRY = 2

// Character codes.
const QUOTE = 0x22
const COMMA = 0x2c
const COLON_CHAR = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const SPACE = 0x20
const NEWLINE = 0x0a
const RETURN = 0x0d
const TAB = 0x09

// The first characters of a JSON value other than an object: `[`, `"`, `-`, a digit, true, false, null.
const VALUE_STARTS = new Set(Array.from('["-0123456789tfn', (c) => c.charCodeAt(0)))
