/**
 * Fixed security headers on everything the proxies answer (and on JSON 404s, outside helmet's
 * context), set in one call instead of running helmet's per-request policy builder on the hot
 * path. A Binary may hold HTML: nosniff and a sandboxing CSP keep it from ever running on our origin.
 */
export const FIXED_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin'
})

/**
 * The CSP of every page a person sees (helmet's directives, in its spelling): the gateway's own
 * stylesheet, script and icon, the directory search through fetch, forms to itself; nothing
 * inline, nothing from elsewhere.
 */
export const PAGE_CSP_DIRECTIVES: Readonly<Record<string, string[]>> = Object.freeze({
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  scriptSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"]
})

const cspHeader = (directives: Readonly<Record<string, string[]>>) => Object.entries(directives)
  .map(([name, values]) => `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${values.join(' ')}`).join('; ')

/** A page answered outside helmet's context (the 404 page) carries the pages' policy too. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...FIXED_SECURITY_HEADERS,
  'content-security-policy': cspHeader(PAGE_CSP_DIRECTIVES)
})

/** onRequest hook of the proxy routes, which live outside helmet's context. */
export function setProxiedSecurityHeaders (
  _request: unknown,
  reply: { headers: (values: Record<string, string>) => unknown },
  done: () => void
): void {
  reply.headers(FIXED_SECURITY_HEADERS)
  done()
}
