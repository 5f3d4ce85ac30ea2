/** The claims we read from an id_token. */
export interface IdTokenClaims {
  sub?: string
  aud?: string | string[]
  exp?: number
  fhirUser?: string
}

/**
 * Reads the id_token's payload. It came straight from Healow's token endpoint over TLS, which
 * OpenID Connect Core §3.1.3.7 accepts in place of a signature check; we still check aud and exp.
 */
export function readIdToken (idToken: string, clientId: string, now = Date.now()): IdTokenClaims {
  const parts = idToken.split('.')
  if (parts.length !== 3) throw new Error('id_token is not a JWT')
  let claims: IdTokenClaims
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as IdTokenClaims
  } catch {
    throw new Error('id_token payload is not JSON')
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  if (!audiences.includes(clientId)) throw new Error('id_token was issued to another client')
  if (typeof claims.exp === 'number' && claims.exp * 1000 < now - 60_000) throw new Error('id_token has expired')
  return claims
}

/**
 * The patient id: the token response's `patient` when Healow sends it (unconfirmed), otherwise
 * the id_token's fhirUser, `Patient/{id}` relative or absolute.
 */
export function patientIdFrom (
  tokenResponse: Record<string, unknown>, claims: IdTokenClaims | undefined
): string | null {
  const valid = (id: unknown): id is string => typeof id === 'string' && /^[A-Za-z0-9\-.]{1,64}$/.test(id)
  if (valid(tokenResponse.patient)) return tokenResponse.patient
  const match = claims?.fhirUser?.match(/(?:^|\/)Patient\/([^/?#]+)$/)
  return match && valid(match[1]) ? match[1] : null
}
