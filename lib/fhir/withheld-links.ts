/**
 * Links the gateway had to withhold from a Bundle (they lead somewhere it cannot map back through
 * itself), and how a FHIR client is told. Dropping a `next` link silently would make page one of
 * three look like the whole search; an OperationOutcome entry with `search.mode = outcome` is
 * where FHIR puts such warnings, so every FHIR client can see it.
 */
import { GATEWAY_ERROR_SYSTEM } from '../../schemas/errors.js'

export interface WithheldLink {
  /** The link's relation (`next`, `self`, …), `fullUrl` for an entry's fullUrl, or `unnamed`. */
  relation: string
  /** Where the link pointed: a host only, never its path or query (those may carry tokens). */
  host: string
}

/** The code in `issue[0].details.coding` of the outcome entry. */
export const LINK_WITHHELD = 'link_withheld'
/** Distinct relation/host pairs named in one outcome; a Bundle with more is named by count. */
const MAX_NAMED = 10
const RELATION = /^[A-Za-z][A-Za-z0-9.-]{0,31}$/

/** What to say about one dropped URL: its relation and its host, as far as both can be told. */
export function withheldLink (relation: unknown, url: string, base: string): WithheldLink {
  let host: string
  if (url === '') host = 'no URL'
  else {
    try {
      host = new URL(url, base).host || 'no host'
    } catch {
      host = 'an unparsable URL'
    }
  }
  return { relation: typeof relation === 'string' && RELATION.test(relation) ? relation : 'unnamed', host }
}

/** The Bundle entry that tells a client what was withheld. */
export function withheldLinksEntry (withheld: readonly WithheldLink[]): Record<string, unknown> {
  const distinct = [...new Map(withheld.map((w) => [`${w.relation} ${w.host}`, w])).values()]
  const named = distinct.slice(0, MAX_NAMED).map((w) => `"${w.relation}" (on ${w.host})`).join(', ')
  const more = distinct.length > MAX_NAMED ? ` and ${distinct.length - MAX_NAMED} more` : ''
  return {
    resource: {
      resourceType: 'OperationOutcome',
      issue: [{
        severity: 'warning',
        code: 'incomplete',
        details: {
          coding: [{ system: GATEWAY_ERROR_SYSTEM, code: LINK_WITHHELD }],
          text: `The gateway withheld ${withheld.length} link(s) it cannot map back through itself: ${named}${more}. ` +
            'This Bundle may not be the whole result (a withheld "next" link means more pages exist); ask the operator to add the host to FHIR_ALIAS_HOSTS.'
        }
      }]
    },
    search: { mode: 'outcome' }
  }
}
