/**
 * The Mere relay's checks of who asks and where to, as plain functions: the relay plugin refuses
 * with their answers. Anyone can send any Origin from outside a browser, so the Origin check keeps
 * other pages out, not scripts; the bearer and target checks hold for everyone.
 */

import type { PracticeLinks } from '../fhir/bundle-links.js'

const BEARER = /^Bearer ([\x21-\x7e]{1,4096})$/

/**
 * Why a request is not from a page on PUBLIC_URL, or undefined when it is: its Origin, or failing
 * that its Referer's origin, must be PUBLIC_URL's exactly (a prefix would let `{PUBLIC_URL}.evil.example`
 * or another port in).
 */
export function relayOriginProblem (
  headers: { origin?: string | string[], referer?: string | string[] },
  publicUrl: string
): string | undefined {
  const expected = new URL(publicUrl).origin
  let seen: string | undefined = typeof headers.origin === 'string' ? headers.origin : undefined
  if (seen === undefined && typeof headers.referer === 'string' && URL.canParse(headers.referer)) {
    seen = new URL(headers.referer).origin
  }
  return seen === expected ? undefined : `The Healow relay only serves pages on ${expected} (Origin or Referer)`
}

/** The token of an `Authorization: Bearer <token>` header (printable ASCII, at most 4096), or undefined. */
export function bearerToken (header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined
}

/** Whether a `target_type=token` request's target (none, empty, or the token URL itself) leads to the token URL. */
export function isTokenTarget (target: string | undefined, tokenUrl: string): boolean {
  // An empty target is read as the token URL itself.
  return target === undefined || (URL.canParse(target, tokenUrl) && new URL(target, tokenUrl).href === tokenUrl)
}

/**
 * The path and query below the practice's base that a `target_type=base` target leads to, or
 * undefined when it leads anywhere else. Relative targets are read against the base and absolute
 * ones must be on it (or an alias).
 */
export function relayTargetBelowBase (target: string, links: PracticeLinks, method: string): string | undefined {
  // Mere web cuts the base off an attachment's URL and sends the rest, `/Binary/…`: one leading
  // slash means "under the base", as Mere's own server joins it (never `//host`).
  const underBase = /^\/(?!\/)/.test(target) ? target.slice(1) : target
  // A fragment never reaches a server; in a target it can only be there to confuse a parser.
  return underBase.includes('#') ? undefined : links.rewrite(underBase, method)
}
