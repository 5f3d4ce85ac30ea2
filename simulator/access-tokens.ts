// The FHIR server checks bearer tokens locally, as a resource server does with JWT
// access tokens: signature, issuer, `aud` = this practice's base, expiry.
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWK } from 'jose'
import type { Practice } from './practices.js'
import type { SimulatorState } from './state.js'

export type TokenCheck =
  | { ok: true; patientId: string; scopes: Set<string> }
  | { ok: false; problem: string }

export type AccessTokenCheck = (authorization: string | undefined, practice: Practice) => Promise<TokenCheck>

export function accessTokenCheck (state: SimulatorState, issuer: string, publicJwk: JWK): AccessTokenCheck {
  const keys = createLocalJWKSet({ keys: [publicJwk] })
  return async (authorization, practice) => {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1]
    if (!token) return { ok: false, problem: 'No bearer token' }
    try {
      const { payload } = await jwtVerify(token, keys, { issuer, audience: practice.fhirBase, typ: 'at+jwt' })
      if (state.accessTokens.expired.has(String(payload.jti))) return { ok: false, problem: 'Access token expired' }
      return { ok: true, patientId: String(payload.sub), scopes: new Set(String(payload.scope ?? '').split(' ')) }
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { ok: false, problem: 'Access token expired' }
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') {
        return { ok: false, problem: 'Access token was not issued for this practice' }
      }
      return { ok: false, problem: 'Access token invalid' }
    }
  }
}

/** Force-expires one access token, or every one issued so far. */
export function expireAccessTokens (state: SimulatorState, token?: string): void {
  const { issued, expired } = state.accessTokens
  const jtis = token ? [String(decodeJwt(token).jti)] : [...issued]
  for (const jti of jtis) expired.add(jti)
}
