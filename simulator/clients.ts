// The two apps registered at the simulated Healow developer portal; both always exist.
import { createHash } from 'node:crypto'

export const PUBLIC_CLIENT_ID = 'healow-sync-public'
export const CONFIDENTIAL_CLIENT_ID = 'healow-sync-confidential'

/** Any-port loopback callbacks: oidc-provider ignores the port of loopback URIs for native clients (RFC 8252). */
const LOOPBACK_CALLBACKS = ['http://127.0.0.1/healow/callback', 'http://localhost/healow/callback']

export interface RegisteredClients {
  public: { clientId: string }
  confidential: { clientId: string; clientSecret: string }
  /** Client metadata for oidc-provider's `clients` setting. */
  metadata: Array<Record<string, unknown>>
}

export function registerClients (redirectUris: string[] | undefined, seed: number): RegisteredClients {
  // Derived from the seed so that a gateway's .env stays valid across simulator restarts.
  const clientSecret = createHash('sha256').update(`healow-simulator-secret:${seed}`).digest('base64url')
  // An exact list is matched exactly ("web"); the default list any-port ("native").
  const redirects = redirectUris
    ? { application_type: 'web', redirect_uris: redirectUris }
    : { application_type: 'native', redirect_uris: LOOPBACK_CALLBACKS }
  return {
    public: { clientId: PUBLIC_CLIENT_ID },
    confidential: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret },
    metadata: [
      {
        client_id: PUBLIC_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        ...redirects
      },
      {
        client_id: CONFIDENTIAL_CLIENT_ID,
        client_secret: clientSecret,
        // Healow's "Symmetric" client: HTTP Basic.
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        ...redirects
      }
    ]
  }
}
