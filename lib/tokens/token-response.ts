import { patientIdFrom, readIdToken } from './id-token.js'
import type { NewConnectionInput } from './vault.js'

/** Healow's access tokens live an hour; an answer without expires_in is taken to mean that. */
const DEFAULT_EXPIRES_IN_SECONDS = 3600

export type ConnectionFromTokenResponse =
  | { ok: true, connection: NewConnectionInput }
  | { ok: false, code: 'invalid_token_response' | 'invalid_id_token', message: string }

/**
 * A new connection from Healow's answer to an authorization-code exchange: the one place that
 * decides which patient logged in and what is kept. Both the gateway's own callback and Mere
 * web's token endpoint (vault-handle mode) come through here.
 */
export function connectionFromTokenResponse (
  body: Record<string, unknown>,
  practice: { id: string, fhirBase: string },
  clientId: string,
  now = Date.now()
): ConnectionFromTokenResponse {
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    return { ok: false, code: 'invalid_token_response', message: 'Healow answered without an access token' }
  }
  let claims
  try {
    claims = typeof body.id_token === 'string' ? readIdToken(body.id_token, clientId, now) : undefined
  } catch (err) {
    return { ok: false, code: 'invalid_id_token', message: `Healow's id_token is unusable: ${(err as Error).message}` }
  }
  const patientId = patientIdFrom(body, claims)
  if (!patientId) return { ok: false, code: 'invalid_token_response', message: 'Healow did not say which patient logged in (no patient, no fhirUser)' }
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_EXPIRES_IN_SECONDS
  return {
    ok: true,
    connection: {
      practiceId: practice.id,
      fhirBase: practice.fhirBase,
      patientId,
      scope: typeof body.scope === 'string' ? body.scope : '',
      tokens: {
        accessToken: body.access_token,
        refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
        idToken: typeof body.id_token === 'string' ? body.id_token : undefined
      },
      accessExpiresAt: now + expiresIn * 1000
    }
  }
}
