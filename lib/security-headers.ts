/**
 * Fixed security headers on everything the proxies answer (and on 404s, outside helmet's
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

/** onRequest hook of the proxy routes, which live outside helmet's context. */
export function setProxiedSecurityHeaders (_request: unknown, reply: { headers: (values: Record<string, string>) => unknown }, done: () => void): void {
  reply.headers(FIXED_SECURITY_HEADERS)
  done()
}
