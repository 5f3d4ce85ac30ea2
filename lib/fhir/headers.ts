import type { IncomingHttpHeaders } from 'node:http'

/**
 * What crosses the proxy in each direction, as allowlists: a header not named here does not
 * cross. Upstream never sees the caller's Authorization (the connection key), Cookie,
 * X-Forwarded-* or hop-by-hop headers; the caller never sees Healow's Set-Cookie (load-balancer
 * affinity), Server, WWW-Authenticate or anything else that describes the upstream.
 */
const REQUEST_HEADERS = ['accept', 'accept-language', 'if-none-match', 'if-modified-since', 'prefer'] as const

const RESPONSE_HEADERS = new Set([
  'content-type', 'content-length', 'content-language', 'content-disposition',
  'etag', 'last-modified', 'cache-control', 'expires'
])

/** Healow's pre-R4 spelling; clients expect the R4 media type. */
const LEGACY_FHIR_JSON = /^application\/json\+fhir\b/i

const HEADER_VALUE_LIMIT = 1024

export function upstreamRequestHeaders (
  client: IncomingHttpHeaders, accessToken: string, requestId: string
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of REQUEST_HEADERS) {
    const value = client[name]
    if (typeof value === 'string' && value.length <= HEADER_VALUE_LIMIT) headers[name] = value
  }
  headers.accept ??= 'application/fhir+json'
  headers.authorization = `Bearer ${accessToken}`
  // No accept-encoding: bodies arrive uncompressed, so Bundles can be rewritten and lengths stay true.
  headers['user-agent'] = 'healow-sync'
  headers['x-request-id'] = requestId
  return headers
}

export function clientResponseHeaders (
  upstream: Record<string, string | string[] | undefined>
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(upstream)) {
    const lower = name.toLowerCase()
    if (!RESPONSE_HEADERS.has(lower) || typeof value !== 'string') continue
    headers[lower] = lower === 'content-type' ? value.replace(LEGACY_FHIR_JSON, 'application/fhir+json') : value
  }
  return headers
}

/** JSON that may be a FHIR Bundle (and so carries links to rewrite). */
export function isFhirJson (contentType: string | undefined): boolean {
  return typeof contentType === 'string' && /^application\/(fhir\+json|json\+fhir|json)\s*(;|$)/i.test(contentType)
}

/**
 * How long Healow wants us to wait after a 429: its Retry-After when it sends one, otherwise the
 * rest of the calendar minute (Healow blocks "for the rest of the minute", without the header).
 */
export function upstreamRetryAfterMs (retryAfter: string | string[] | undefined, now = Date.now()): number {
  const value = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter
  if (value !== undefined && /^\d{1,6}$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = value === undefined ? NaN : Date.parse(value)
  if (!Number.isNaN(date) && date > now) return date - now
  return 60_000 - (now % 60_000) + 1000
}

/** Headers that describe a body: cleared before the gateway answers with a body of its own. */
export const REPRESENTATION_HEADERS: readonly string[] = ['content-type', 'content-length', 'content-language', 'content-disposition', 'etag', 'last-modified', 'cache-control', 'expires', 'location']
