import { BoundedCache } from '../bounded-cache.js'
import { R4_RESOURCE_TYPES } from './resource-types.js'

/**
 * Which FHIR path a client may reach through the proxy, decided on the raw request text.
 *
 * Security model: nothing is decoded "to see what it means" and then forwarded. The raw path is
 * checked character by character against a whitelist grammar (FHIR type names, ids, a few
 * keywords), every segment is matched to a known FHIR interaction, and the upstream URL is then
 * built from those validated segments only. A `%` anywhere in the path (except `%24` for `$`)
 * is refused, which shuts out `%2e%2e`, `%2f`, `%5c`, `%00`, double and overlong encodings and
 * encoded unicode look-alikes in one rule; raw non-ASCII, `\`, `@`, `:`, `;`, `#` and empty
 * segments (`//host`) never match the grammar. The query is decoded, checked, and re-encoded.
 */

/** What kind of answer to expect: a Bundle (links rewritten) or anything else (streamed). */
export type TargetKind = 'bundle' | 'resource'

export interface FhirTarget {
  /** Validated path segments below the practice's base ([] = the base itself). */
  segments: string[]
  /** Re-encoded query string without `?` ('' when none). */
  query: string
  kind: TargetKind
  /** POST is allowed only on `{Type}/_search`. */
  postSearch: boolean
}

export type TargetProblem = { status: 400 | 404 | 405, code: 'forbidden_target' | 'not_found' | 'method_not_allowed', reason: string, allow?: string }
export type TargetResult = { ok: true, target: FhirTarget } | ({ ok: false } & TargetProblem)

export const MAX_TARGET_LENGTH = 4096
const MAX_QUERY_PARAMS = 100
/** FHIR's id grammar. Dot-only segments are excluded separately (they are path traversal). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/
const SEGMENT_CHARS = /^[A-Za-z0-9\-._$]+$/
/** Printable ASCII without space, `#` and `\`: everything else is refused before parsing. */
const RAW_CHARS = /^[\x21\x22\x24-\x5b\x5d-\x7e]*$/
/**
 * Search parameter names, with modifiers and chains: `code:text`, `subject:Patient.name`,
 * `_has:Observation:patient:code`.
 */
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/
const CONTROL_CHARS = /[\x00-\x1f\x7f]/
/**
 * A query whose every pair comes out of decoding and encoding again unchanged (names without `:`,
 * values of characters encodeURIComponent leaves alone, no `+` or `%`): its canonical form is its
 * text, and checking it takes one match instead of two decodes and two encodes per pair.
 */
const CANONICAL_PAIR = "[A-Za-z_][A-Za-z0-9_.\\-]{0,127}=[A-Za-z0-9\\-_.!~*'()]*"
const CANONICAL_QUERY = new RegExp(`^(?:${CANONICAL_PAIR}(?:&${CANONICAL_PAIR}){0,${MAX_QUERY_PARAMS - 1}})?$`)

/** Read-only operations a patient app uses; anything else is not forwarded. */
const TYPE_OPERATIONS = new Set(['$docref', '$lastn'])
const INSTANCE_OPERATIONS = new Set(['$everything'])

const forbidden = (reason: string): TargetResult => ({ ok: false, status: 400, code: 'forbidden_target', reason })
const notFound = (reason: string): TargetResult => ({ ok: false, status: 404, code: 'not_found', reason })

function isId (segment: string): boolean {
  return FHIR_ID.test(segment) && !/^\.+$/.test(segment)
}

/** `%24` is the one escape a client may use (some encode `$`); every other `%` is refused. */
function decodeSegment (raw: string): string | undefined {
  const segment = raw.slice(0, 3) === '%24' ? `$${raw.slice(3)}` : raw
  if (!SEGMENT_CHARS.test(segment)) return undefined
  if (segment.includes('$') && !/^\$[a-z][a-z-]{0,30}$/.test(segment)) return undefined
  return segment
}

/** A recognised interaction, if the method fits it. */
function interaction (segments: string[], post: boolean, kind: TargetKind, postSearch = false): TargetResult {
  if (post && !postSearch) return { ok: false, status: 405, code: 'method_not_allowed', reason: 'POST is only for {Type}/_search', allow: 'GET, HEAD' }
  if (!post && postSearch) return { ok: false, status: 405, code: 'method_not_allowed', reason: '{Type}/_search takes POST', allow: 'POST' }
  return { ok: true, target: { segments, query: '', kind, postSearch } }
}

function classify (segments: string[], method: string): TargetResult {
  const post = method === 'POST'
  const [first, second, third, fourth] = segments
  switch (segments.length) {
    case 0: return interaction(segments, post, 'bundle') // paging links (`?_getpages=…`) are answered at the base
    case 1:
      if (first === 'metadata') return interaction(segments, post, 'resource')
      break
    case 2:
      if (first === '.well-known' && second === 'smart-configuration') return interaction(segments, post, 'resource')
      break
  }
  if (!R4_RESOURCE_TYPES.has(first)) {
    return !first.startsWith('.') ? notFound(`${first} is not a FHIR R4 resource type`) : forbidden('not a FHIR path')
  }
  if (segments.length === 1) return interaction(segments, post, 'bundle')
  if (segments.length === 2) {
    if (second === '_search') return interaction(segments, post, 'bundle', true)
    if (second.startsWith('$')) return TYPE_OPERATIONS.has(second) ? interaction(segments, post, 'bundle') : notFound(`operation ${second} is not forwarded`)
    return isId(second) ? interaction(segments, post, 'resource') : forbidden('not a FHIR id')
  }
  if (!isId(second)) return forbidden('not a FHIR id')
  if (segments.length === 3) {
    if (third === '_history') return interaction(segments, post, 'bundle')
    if (third.startsWith('$')) return first === 'Patient' && INSTANCE_OPERATIONS.has(third) ? interaction(segments, post, 'bundle') : notFound(`operation ${third} is not forwarded`)
    if (R4_RESOURCE_TYPES.has(third)) return interaction(segments, post, 'bundle') // compartment search: Patient/123/Observation
    return notFound('not a FHIR interaction')
  }
  if (segments.length === 4 && third === '_history') return isId(fourth) ? interaction(segments, post, 'resource') : forbidden('not a FHIR version id')
  return notFound('not a FHIR interaction')
}

/**
 * Decodes `application/x-www-form-urlencoded` text (a query or a POST _search body), checks every
 * name and value, and encodes it again canonically; undefined when anything is off.
 */
export function canonicalParameters (raw: string): string | undefined {
  if (raw.length > MAX_TARGET_LENGTH * 16) return undefined
  if (CANONICAL_QUERY.test(raw)) return raw // the long way gives such a query back unchanged
  const out: string[] = []
  for (const pair of raw.split('&')) {
    if (pair === '') continue
    if (out.length >= MAX_QUERY_PARAMS) return undefined
    const eq = pair.indexOf('=')
    let name: string, value: string
    try {
      name = decodeURIComponent((eq === -1 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '))
      value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '))
    } catch {
      return undefined // malformed escape
    }
    if (!PARAM_NAME.test(name) || CONTROL_CHARS.test(value)) return undefined
    try {
      out.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    } catch {
      return undefined // lone surrogate
    }
  }
  return out.join('&')
}

/** A read, `/{Type}/{id}` with no query: the shape of every entry's fullUrl in a Bundle. */
const TYPE_SLASH_ID = /^\/([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})$/

/**
 * Parses what follows `/fhir/{connectionId}` in the raw request URL ('' , '/…' or '?…'). A read
 * of `/{Type}/{id}` is answered with one match (a Bundle has a link per entry); its answer is the
 * one parseFhirTargetInFull gives, which decides everything else.
 */
export function parseFhirTarget (rawRest: string, method: string): TargetResult {
  const read = TYPE_SLASH_ID.exec(rawRest)
  if (read !== null && R4_RESOURCE_TYPES.has(read[1]) && isId(read[2])) return interaction([read[1], read[2]], method === 'POST', 'resource')
  return parseFhirTargetInFull(rawRest, method)
}

/** The whole grammar (parseFhirTarget takes a shortcut for the commonest shape). */
export function parseFhirTargetInFull (rawRest: string, method: string): TargetResult {
  if (rawRest.length > MAX_TARGET_LENGTH) return forbidden('path too long')
  if (!RAW_CHARS.test(rawRest)) return forbidden('characters outside the FHIR path grammar')
  const queryAt = rawRest.indexOf('?')
  const rawPath = queryAt === -1 ? rawRest : rawRest.slice(0, queryAt)
  const rawQuery = queryAt === -1 ? '' : rawRest.slice(queryAt + 1)
  if (rawPath !== '' && !rawPath.startsWith('/')) return forbidden('not a FHIR path')
  const rawSegments = rawPath === '' || rawPath === '/' ? [] : rawPath.slice(1).split('/')
  const segments: string[] = []
  for (const raw of rawSegments) {
    const segment = decodeSegment(raw) // '' (as in `//host`) is no segment either
    if (segment === undefined) return forbidden('not a FHIR path segment')
    segments.push(segment)
  }
  const classified = classify(segments, method)
  if (!classified.ok) return classified
  const query = canonicalParameters(rawQuery)
  if (query === undefined) return forbidden('query parameters outside the FHIR search grammar')
  classified.target.query = query // a fresh target from interaction()
  return classified
}

/** The target as a path and query below some base: `/Observation/1?x=y`, or '' for the bare base. */
export function formatTarget (target: Pick<FhirTarget, 'segments' | 'query'>): string {
  let path = ''
  for (const segment of target.segments) path += `/${segment}`
  return target.query ? `${path}?${target.query}` : path
}

export interface PracticeBase {
  origin: string
  /** Path of the base without a trailing slash ('' for a base at the host root). */
  path: string
}

const practiceBases = new BoundedCache<Readonly<PracticeBase>>()

/** Splits a practice's FHIR base, refusing anything but a plain http(s) URL (parsed once per base). */
export function parsePracticeBase (fhirBase: string): Readonly<PracticeBase> {
  return practiceBases.get(fhirBase, splitPracticeBase)
}

function splitPracticeBase (fhirBase: string): Readonly<PracticeBase> {
  const url = new URL(fhirBase)
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    throw new Error('a practice FHIR base must be a plain http(s) URL')
  }
  return { origin: url.origin, path: url.pathname.replace(/\/+$/, '') }
}

/**
 * The upstream request for a validated target: origin, path and query built from the validated
 * parts only, and checked once more to be under the base (defence in depth).
 */
export function upstreamLocation (
  base: PracticeBase, target: FhirTarget
): { origin: string, path: string, query: string } {
  const path = base.path + formatTarget({ segments: target.segments, query: '' })
  // Stryker disable next-line StringLiteral: new URL('', origin) is the origin's root as well
  const check = new URL(path || '/', base.origin)
  // A URL's path is never empty: with a base at the host root, every path starts with `/`.
  if (check.origin !== base.origin || !(check.pathname === base.path || check.pathname.startsWith(`${base.path}/`))) {
    throw new Error('upstream path escaped the practice base')
  }
  return { origin: base.origin, path: path || '/', query: target.query }
}
