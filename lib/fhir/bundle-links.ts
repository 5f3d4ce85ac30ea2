import { BoundedCache } from '../bounded-cache.js'
import { URN_FULL_URL, rewriteBundleText } from './bundle-text.js'
import { formatTarget, parseFhirTarget, type PracticeBase } from './target.js'
import { withheldLink, withheldLinksEntry, type WithheldLink } from '../../lib/fhir/withheld-links.js'

/**
 * Rewrites the links in a practice's FHIR Bundles so that a client pages through the gateway.
 *
 * Healow writes absolute links, and not always on the host the request went to: links were seen
 * on `http://fhir4.eclinicalworks.com/…` for a request to `https://fhir4.healow.com/…` (other
 * host, other scheme). A link counts as "into the practice" when its
 * origin is the base's (either scheme) or a configured alias, its path is under the practice's
 * base path, and what follows passes the same target grammar as a client's request. Such links
 * become `{gateway}/fhir/{connectionId}/…`; every other link is dropped, never passed on, and the
 * Bundle says so in an OperationOutcome entry (a dropped `next` would otherwise pass for the end).
 */
export class PracticeLinks {
  readonly #origins: ReadonlySet<string>
  /** `{origin}{base path}` for each origin that counts as the practice's. */
  readonly #prefixes: readonly string[]

  constructor (
    private readonly base: PracticeBase,
    aliasOrigins: readonly string[],
    private readonly gatewayBase: string
  ) {
    const scope = practiceScopes.get(`${base.origin}${base.path}\n${aliasOrigins.join(' ')}`, () => practiceScope(base, aliasOrigins))
    this.#origins = scope.origins
    this.#prefixes = scope.prefixes
  }

  /** The gateway URL for a practice URL, or undefined when the URL leads anywhere else. */
  rewrite (link: string, method = 'GET'): string | undefined {
    let rest = this.belowPrefix(link)
    if (rest === undefined) {
      // The URL parser would quietly drop tabs and newlines and resolve dot segments: a link that
      // needs either is not one Healow writes, and following it would be guessing.
      if (/[\x00-\x20\x7f\\]/.test(link) || DOT_SEGMENT.test(pathOf(link))) return undefined
      rest = this.belowBaseByUrlParser(link)
      if (rest === undefined) return undefined
      // Defence in depth below: the grammar refuses dot segments as well.
    } else if (DOT_SEGMENT.test(pathOf(rest))) {
      // The prefix is one of our normalised bases, so only what follows it can hold a dot segment.
      return undefined
    }
    const parsed = parseFhirTarget(rest, method)
    return parsed.ok ? this.gatewayBase + formatTarget(parsed.target) : undefined
  }

  /**
   * What follows the practice base in a link spelled exactly as Healow spells its own (one of our
   * origins and the base path, then `/`, `?` or nothing, then only characters the URL parser
   * leaves as they are): the same text the URL parser would give, without parsing (a Bundle has
   * a link per entry). Anything else takes the parser's way.
   */
  // A shortcut: whatever it leaves undefined the URL parser's way answers, and what it returns is what that way gives
  // (test/plugins/fhir-proxy-links.test.ts compares both ways on 5,000 random links).
  // Stryker disable next-line BlockStatement: emptied, the shortcut answers no link
  private belowPrefix (link: string): string | undefined {
    // Stryker disable next-line BlockStatement: emptied, the shortcut answers no link, as above
    for (const prefix of this.#prefixes) {
      if (!link.startsWith(prefix)) continue
      // Stryker disable next-line MethodExpression: the whole link starts with a scheme, never with `/` or `?`
      const rest = link.slice(prefix.length)
      if (URL_NEUTRAL.test(rest)) return rest
    }
    return undefined
  }

  private belowBaseByUrlParser (link: string): string | undefined {
    let url: URL
    try {
      // Relative links are read against the base, so `../other` or `//host` cannot escape it either.
      url = new URL(link, `${this.base.origin}${this.base.path}/`)
    } catch {
      return undefined
    }
    if (!this.#origins.has(url.origin) || url.username || url.password) return undefined
    const path = url.pathname
    if (!(path === this.base.path || path.startsWith(`${this.base.path}/`))) return undefined
    return path.slice(this.base.path.length) + url.search
  }

  /**
   * A Bundle's JSON text with its links rewritten, or undefined when the text is not JSON. The
   * plain case is rewritten in the text itself; anything else is parsed, rewritten and printed.
   * The scanner takes on no Bundle that loses a link, so the parsing way alone adds the outcome
   * entry and reports what it withheld into `withheld`.
   */
  rewriteBundleJson (text: string, withheld: WithheldLink[] = []): string | undefined {
    return rewriteBundleText(text, this.#rewriteUrl) ?? this.rewriteBundleJsonByParsing(text, withheld)
  }

  /** The parsing way, for every Bundle the scanner leaves to it: parse, rewrite in place, print. */
  rewriteBundleJsonByParsing (text: string, withheld: WithheldLink[] = []): string | undefined {
    let bundle: unknown
    try {
      bundle = JSON.parse(text)
    } catch {
      return undefined
    }
    const before = withheld.length
    this.rewriteBundle(bundle, 0, withheld)
    if (withheld.length > before && isRecord(bundle)) {
      const entries = bundle.entry
      const kept = Array.isArray(entries) ? entries : entries === undefined ? [] : [entries]
      bundle.entry = [...kept, withheldLinksEntry(withheld.slice(before))]
    }
    return JSON.stringify(bundle)
  }

  readonly #rewriteUrl = (url: string): string | undefined => this.rewrite(url)

  /**
   * Rewrites `link[].url`, `entry[].link[].url` and `entry[].fullUrl` in place, nested Bundles
   * included; what it drops goes into `withheld`.
   */
  rewriteBundle (bundle: unknown, depth = 0, withheld: WithheldLink[] = []): void {
    if (!isRecord(bundle) || bundle.resourceType !== 'Bundle' || depth > 8) return
    this.rewriteLinks(bundle, withheld)
    // A lone entry object is not FHIR, but a lenient client may read it as one: its URLs are vetted all the same.
    const entries: unknown[] = Array.isArray(bundle.entry) ? bundle.entry : isRecord(bundle.entry) ? [bundle.entry] : []
    for (const entry of entries) {
      if (!isRecord(entry)) continue
      this.rewriteLinks(entry, withheld)
      if (typeof entry.fullUrl === 'string' && !URN_FULL_URL.test(entry.fullUrl)) {
        const rewritten = this.rewrite(entry.fullUrl)
        if (rewritten === undefined) {
          withheld.push(this.withheld('fullUrl', entry.fullUrl))
          delete entry.fullUrl
        } else {
          entry.fullUrl = rewritten
        }
      }
      this.rewriteBundle(entry.resource, depth + 1, withheld)
    }
  }

  private rewriteLinks (holder: Record<string, unknown>, withheld: WithheldLink[]): void {
    if (holder.link === undefined) return
    if (!Array.isArray(holder.link)) {
      // Not a list of links, so none that could be vetted: dropped like any link that leads elsewhere.
      const url = isRecord(holder.link) && typeof holder.link.url === 'string' ? holder.link.url : ''
      withheld.push(this.withheld(isRecord(holder.link) ? holder.link.relation : undefined, url))
      delete holder.link
      return
    }
    holder.link = holder.link.flatMap((link: unknown) => {
      const url = isRecord(link) && typeof link.url === 'string' ? this.rewrite(link.url) : undefined
      if (url !== undefined) return [{ ...(link as Record<string, unknown>), url }]
      withheld.push(this.withheld(isRecord(link) ? link.relation : undefined, isRecord(link) && typeof link.url === 'string' ? link.url : ''))
      return []
    })
  }

  private withheld (relation: unknown, url: string): WithheldLink {
    return withheldLink(relation, url, `${this.base.origin}${this.base.path}/`)
  }
}

interface PracticeScope { origins: ReadonlySet<string>, prefixes: readonly string[] }

// Made once per practice rather than on every proxied request.
const practiceScopes = new BoundedCache<PracticeScope>()

function practiceScope (base: PracticeBase, aliasOrigins: readonly string[]): PracticeScope {
  const origins = new Set([base.origin, ...aliasOrigins])
  const url = new URL(base.origin)
  // The same host on the other scheme is still the practice (default ports only: other ports are other servers).
  if (url.port === '') origins.add(`${url.protocol === 'https:' ? 'http:' : 'https:'}//${url.host}`)
  return { origins, prefixes: [...origins].map((origin) => origin + base.path) }
}

/** `.` or `..` as a segment, written out or %-encoded (the URL parser resolves both). */
const DOT_SEGMENT = /(^|\/)(?:\.|%2e){1,2}(\/|$)/i
/**
 * What may follow the base in a link the URL parser passes through unchanged: nothing, a path
 * starting with `/`, a query, or both, each of characters the parser leaves as they are. No `%` in
 * the path: the parser reads `%2e` as a dot segment.
 */
const URL_NEUTRAL = /^(?:\/[A-Za-z0-9\-._~$/=&+:,|*!]*)?(?:\?[A-Za-z0-9\-._~$/?=&%+:,|*!]*)?$/

/** A link's text before its query or fragment. */
function pathOf (link: string): string {
  const query = link.indexOf('?')
  const fragment = link.indexOf('#')
  const end = query === -1 ? fragment : fragment === -1 ? query : Math.min(query, fragment)
  return end === -1 ? link : link.slice(0, end)
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
