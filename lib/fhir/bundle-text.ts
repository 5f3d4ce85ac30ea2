/**
 * Rewrites a Bundle's links in its JSON text, without building the object tree and printing it
 * again: parse and print cost more than everything else the gateway does for a small search page.
 *
 * The scanner reads the whole text against the strict JSON grammar and tracks where it is in the
 * Bundle, so a `url` or `fullUrl` is recognised by its place (Bundle.link[].url,
 * Bundle.entry[].fullUrl, Bundle.entry[].link[].url), never by looking like a URL. It takes on
 * only the plain case and answers undefined for everything else, which then takes the parsing
 * way (JSON.parse, PracticeLinks.rewriteBundle, JSON.stringify): text that is not strict JSON,
 * a link that would be dropped, a key written twice where links live (JSON.parse keeps the last,
 * another client's parser might keep the first), a link or entry of an unexpected shape, a nested
 * Bundle, nesting deeper than MAX_DEPTH. Only whole string tokens are replaced, by JSON strings,
 * so what comes out is valid JSON whenever something comes out.
 */

/** Turns a link's URL into the gateway's, or undefined when the link must be dropped. */
export type LinkRewrite = (url: string) => string | undefined

const MAX_DEPTH = 256

// What a container is in the Bundle; everything below a resource or elsewhere is OTHER.
const OTHER = 0
const BUNDLE = 1
const LINKS = 2
const LINK = 3
const ENTRIES = 4
const ENTRY = 5
const RESOURCE = 6

// Character codes.
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39
const DOT = 0x2e

/** What JSON.stringify may escape: quote, backslash, control characters, lone surrogates (a pair just goes its way). */
const NEEDS_ESCAPE = /["\\\x00-\x1f\ud800-\udfff]/

/** fullUrls that name an entry inside the Bundle rather than a location: left as they are, by both ways. */
export const URN_FULL_URL = /^urn:(uuid|oid):/i

// The keys that matter, as bits of the set of those already seen in one object.
const URL_KEY = 1 // url in a link, fullUrl in an entry
const LINK_KEY = 2
const LIST_KEY = 4 // entry in the Bundle, resource in an entry
const TYPE_KEY = 8 // resourceType

class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain()

function isWhitespace (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

function isDigit (c: number): boolean {
  return c >= ZERO && c <= NINE
}

function isHexDigit (c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

/** One pass over the text; `edits` collects [start, end, replacement] in text order, inside string tokens' quotes. */
class BundleScanner {
  pos = 0
  readonly edits: Array<[number, number, string]> = []
  bundleResourceType: string | undefined
  /** Whether the last string token held an escape (then its value is decoded with JSON.parse). */
  // Stryker disable next-line BooleanLiteral: a shortcut; JSON.parse decodes a string without escapes alike
  escaped = false

  /** No backslash and no control character anywhere: every string ends at the next quote and is valid. */
  readonly plain: boolean

  constructor (readonly text: string, readonly rewrite: LinkRewrite) {
    // One native pass instead of a character loop over every string (most of a Bundle's text).
    // Stryker disable next-line Regex: a shortcut; negated, it finds no Bundle plain: each string is read in the loop
    this.plain = !/[\x00-\x1f\\]/.test(text)
  }

  skipWhitespace (): number {
    const { text } = this
    let c = text.charCodeAt(this.pos)
    while (isWhitespace(c)) c = text.charCodeAt(++this.pos)
    return c
  }

  /** Reads a string token starting at its opening quote; returns the index after the closing one. */
  readString (): number {
    const { text } = this
    // Stryker disable next-line BooleanLiteral: a shortcut; JSON.parse decodes a string without escapes alike
    this.escaped = false
    // Stryker disable next-line BlockStatement: a shortcut; the loop below reads it alike
    if (this.plain) {
      const end = text.indexOf('"', this.pos + 1)
      if (end === -1) throw NOT_PLAIN
      return end + 1
    }
    let i = this.pos + 1
    for (;;) {
      const c = text.charCodeAt(i)
      if (c === QUOTE) break
      if (c < 0x20 || Number.isNaN(c)) throw NOT_PLAIN // control character, or the text ended
      if (c === BACKSLASH) {
        this.escaped = true
        const e = text.charCodeAt(i + 1)
        if (e === 0x75) { // \uXXXX
          const hex = isHexDigit(text.charCodeAt(i + 2)) && isHexDigit(text.charCodeAt(i + 3)) &&
            isHexDigit(text.charCodeAt(i + 4)) && isHexDigit(text.charCodeAt(i + 5))
          if (!hex) throw NOT_PLAIN
          i += 6
          continue
        }
        // \" \\ \/ \b \f \n \r \t
        const known = e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 ||
          e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74
        if (!known) throw NOT_PLAIN
        i += 2
        continue
      }
      i++
    }
    return i + 1
  }

  /** The value of the string token at [start, end). */
  stringValue (start: number, end: number): string {
    return this.escaped ? JSON.parse(this.text.slice(start, end)) as string : this.text.slice(start + 1, end - 1)
  }

  readNumber (): void {
    const { text } = this
    let i = this.pos
    if (text.charCodeAt(i) === MINUS) i++
    i = text.charCodeAt(i) === ZERO ? i + 1 : this.digitsFrom(i)
    if (text.charCodeAt(i) === DOT) i = this.digitsFrom(i + 1)
    const e = text.charCodeAt(i)
    if (e === 0x65 || e === 0x45) { // e E
      const sign = text.charCodeAt(i + 1)
      i = this.digitsFrom(sign === 0x2b || sign === MINUS ? i + 2 : i + 1)
    }
    this.pos = i
  }

  /** The index after a run of one or more digits starting at `i`. */
  digitsFrom (i: number): number {
    if (!isDigit(this.text.charCodeAt(i))) throw NOT_PLAIN
    do i++; while (isDigit(this.text.charCodeAt(i)))
    return i
  }

  readLiteral (word: string): void {
    if (!this.text.startsWith(word, this.pos)) throw NOT_PLAIN
    this.pos += word.length
  }

  /**
   * Reads one value at `pos` whose place in the Bundle is `role` (the role a container there
   * takes on), and leaves `pos` after it.
   */
  readValue (role: number, depth: number): void {
    const c = this.skipWhitespace()
    if (c === OPEN_BRACE) {
      this.readObject(role, depth + 1)
    } else if (c === OPEN_BRACKET) {
      this.readArray(role, depth + 1)
    } else if (role !== OTHER && role !== RESOURCE) {
      throw NOT_PLAIN // a Bundle, link list, link, entry list or entry that is not a container
    } else if (c === QUOTE) {
      this.pos = this.readString()
    } else if (c === 0x74) {
      this.readLiteral('true')
    } else if (c === 0x66) {
      this.readLiteral('false')
    } else if (c === 0x6e) {
      this.readLiteral('null')
    } else {
      this.readNumber()
    }
  }

  readArray (role: number, depth: number): void {
    if (depth > MAX_DEPTH) throw NOT_PLAIN
    // A link list holds links, an entry list entries; an array anywhere else is just read.
    if (role !== OTHER && role !== LINKS && role !== ENTRIES) throw NOT_PLAIN
    const itemRole = role === LINKS ? LINK : role === ENTRIES ? ENTRY : OTHER
    this.pos++
    if (this.skipWhitespace() === CLOSE_BRACKET) {
      this.pos++
      return
    }
    for (;;) {
      if (itemRole !== OTHER && this.skipWhitespace() !== OPEN_BRACE) throw NOT_PLAIN
      this.readValue(itemRole, depth)
      const c = this.skipWhitespace()
      this.pos++
      if (c === CLOSE_BRACKET) return
      if (c !== COMMA) throw NOT_PLAIN
    }
  }

  readObject (role: number, depth: number): void {
    if (depth > MAX_DEPTH) throw NOT_PLAIN
    if (role === LINKS || role === ENTRIES) throw NOT_PLAIN
    // The keys that matter here that were already read: each is allowed once.
    let seen = 0
    this.pos++
    if (this.skipWhitespace() === CLOSE_BRACE) {
      this.pos++
      if (role === LINK) throw NOT_PLAIN // a link without a url is dropped
      return
    }
    for (;;) {
      if (this.skipWhitespace() !== QUOTE) throw NOT_PLAIN
      const keyStart = this.pos
      const keyEnd = this.readString()
      this.pos = keyEnd
      if (this.skipWhitespace() !== COLON) throw NOT_PLAIN
      this.pos++
      if (role === OTHER) {
        this.readValue(OTHER, depth)
      } else {
        const bit = this.keyBit(role, keyStart, keyEnd)
        if ((seen & bit) !== 0) throw NOT_PLAIN
        seen |= bit
        if (bit === 0) {
          this.readValue(OTHER, depth)
        } else if (bit === TYPE_KEY) {
          const type = this.readStringValue(depth)
          if (role === BUNDLE) this.bundleResourceType = type
          else if (type === 'Bundle') throw NOT_PLAIN // nested Bundles take the parsing way
        } else if (bit === URL_KEY) {
          this.readLinkUrl(role === ENTRY)
        } else if (bit === LINK_KEY) {
          this.readValue(LINKS, depth)
        } else if (role === BUNDLE) {
          this.readValue(ENTRIES, depth) // LIST_KEY: the Bundle's entry
        } else {
          // LIST_KEY: an entry's resource
          this.readValue(this.skipWhitespace() === OPEN_BRACE ? RESOURCE : OTHER, depth)
        }
      }
      const c = this.skipWhitespace()
      this.pos++
      if (c === CLOSE_BRACE) break
      if (c !== COMMA) throw NOT_PLAIN
    }
    if (role === LINK && (seen & URL_KEY) === 0) throw NOT_PLAIN
  }

  /** The bit of the key token at [start, end) in an object of `role`; 0 for keys that do not matter there. */
  keyBit (role: number, start: number, end: number): number {
    // Compared in place: most keys differ in length from every key that matters, and none is sliced.
    if (this.escaped) {
      const key = this.stringValue(start, end)
      for (const [name, bit] of KEY_BITS[role]) if (key === name) return bit
      return 0
    }
    const length = end - start - 2
    for (const [name, bit] of KEY_BITS[role]) {
      if (name.length === length && this.text.startsWith(name, start + 1)) return bit
    }
    return 0
  }

  /** A string value where one must be (resourceType): anything else takes the parsing way. */
  readStringValue (depth: number): string | undefined {
    if (this.skipWhitespace() !== QUOTE) {
      this.readValue(OTHER, depth)
      return undefined
    }
    return this.readStringToken()
  }

  /** The value of the string token at `pos` (its opening quote), leaving `pos` after it. */
  readStringToken (): string {
    const start = this.pos
    this.pos = this.readString()
    return this.stringValue(start, this.pos)
  }

  /** A link's url or an entry's fullUrl: replaced by the gateway's URL, or the text takes the parsing way. */
  readLinkUrl (fullUrl: boolean): void {
    if (this.skipWhitespace() !== QUOTE) throw NOT_PLAIN
    const start = this.pos
    const url = this.readStringToken()
    if (fullUrl && URN_FULL_URL.test(url)) return
    const rewritten = this.rewrite(url)
    if (rewritten === undefined) throw NOT_PLAIN
    // What goes between the token's quotes, which stay: the URL itself unless JSON needs escapes in it.
    const content = NEEDS_ESCAPE.test(rewritten) ? JSON.stringify(rewritten).slice(1, -1) : rewritten
    this.edits.push([start + 1, this.pos - 1, content])
  }
}

// The keys that matter in each kind of object, with their bits.
const KEY_BITS: Record<number, ReadonlyArray<readonly [string, number]>> = {
  [BUNDLE]: [['link', LINK_KEY], ['entry', LIST_KEY], ['resourceType', TYPE_KEY]],
  [LINK]: [['url', URL_KEY]],
  [ENTRY]: [['fullUrl', URL_KEY], ['link', LINK_KEY], ['resource', LIST_KEY]],
  [RESOURCE]: [['resourceType', TYPE_KEY]]
}

/**
 * The Bundle text with its links rewritten, or undefined when it needs the parsing way (see
 * above); also undefined for text that is not JSON or not a Bundle.
 */
export function rewriteBundleText (text: string, rewrite: LinkRewrite): string | undefined {
  const scanner = new BundleScanner(text, rewrite)
  try {
    if (scanner.skipWhitespace() !== OPEN_BRACE) return undefined
    scanner.readValue(BUNDLE, 0)
    scanner.skipWhitespace()
  } catch (err) {
    if (err === NOT_PLAIN) return undefined
    throw err
  }
  if (scanner.pos !== text.length || scanner.bundleResourceType !== 'Bundle') return undefined
  let out = ''
  let from = 0
  for (const [start, end, replacement] of scanner.edits) {
    out += text.slice(from, start) + replacement
    from = end
  }
  return out + text.slice(from)
}
