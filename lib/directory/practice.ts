import type { Static } from '@sinclair/typebox'
import type { Tenant } from '../../schemas/tenants.js'

/**
 * One Healow practice, as the API's Tenant schema describes it: the id is the shared id of its
 * Endpoint and Organization (Mere's tenant id); fhirBase has no trailing slash (it is also the OAuth `aud`).
 */
export type Practice = Static<typeof Tenant>

/** The OAuth endpoints a practice's patients log in through. */
export type OAuthEndpoints = Pick<Practice, 'authorizeUrl' | 'tokenUrl'>

/** Which `http:` addresses count as acceptable; everything else must be `https:`. */
export interface AddressPolicy {
  /** Accept `http://` on loopback hosts: the local simulator and tests, never Healow. */
  allowLoopbackHttp?: boolean
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** Healow and its OAuth server are https only; a plain-http practice would leak tokens on the wire. */
export function isSecureEnough (url: URL, policy: AddressPolicy): boolean {
  if (url.protocol === 'https:') return true
  return policy.allowLoopbackHttp === true && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
}
