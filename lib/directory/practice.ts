/** The OAuth endpoints a practice's patients log in through. */
export interface OAuthEndpoints {
  authorizeUrl: string
  tokenUrl: string
}

/** One Healow practice: the id is the shared id of its Endpoint and Organization (Mere's tenant id). */
export interface Practice extends OAuthEndpoints {
  id: string
  name: string
  /** `https://host/fhir/r4/{practiceCode}`, without a trailing slash (it is also the OAuth `aud`). */
  fhirBase: string
}

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
