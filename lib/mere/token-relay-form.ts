/**
 * What the relay's `target_type=token` passes on to Healow's token endpoint: exactly the code
 * exchange of a public client, as Mere web sends it (grant_type, code, redirect_uri,
 * code_verifier, client_id; form-encoded). The relay is reachable without credentials, so
 * anything else is refused before it can spend the practice's Healow budget: other grants (a
 * public client has no refresh token; confidential refreshes go through /api/v1/healow/refresh),
 * another app's client_id, client secrets or assertions from a browser, unknown parameters.
 */
import { canonicalParameters } from '../fhir/target.js'

const ALLOWED = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'client_id'] as const
/** RFC 7636: 43 to 128 characters of the unreserved set. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/
const MAX_VALUE_LENGTH = 4096

export type TokenRelayForm = { ok: true, form: string } | { ok: false, problem: string }

export function checkTokenRelayForm (raw: string, clientId: string): TokenRelayForm {
  const canonical = canonicalParameters(raw)
  if (canonical === undefined) return { ok: false, problem: 'the body is not form-encoded OAuth parameters (malformed %-escape, control character or too many parameters)' }
  const params = new URLSearchParams(canonical)
  if (params.get('grant_type') !== 'authorization_code') return { ok: false, problem: 'grant_type must be authorization_code: the relay exchanges a public client\'s code only' }
  for (const name of new Set(params.keys())) {
    if (!(ALLOWED as readonly string[]).includes(name)) return { ok: false, problem: `parameter "${name.slice(0, 32)}" is not relayed; the relay takes only ${ALLOWED.join(', ')}` }
    if (params.getAll(name).length > 1) return { ok: false, problem: `parameter "${name}" is given more than once` }
  }
  const value = (name: typeof ALLOWED[number]) => params.get(name) ?? ''
  for (const name of ['code', 'redirect_uri'] as const) {
    if (value(name) === '' || value(name).length > MAX_VALUE_LENGTH) return { ok: false, problem: `${name} is required (1 to ${MAX_VALUE_LENGTH} characters)` }
  }
  if (!CODE_VERIFIER.test(value('code_verifier'))) return { ok: false, problem: 'code_verifier must be a PKCE verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~' }
  if (value('client_id') !== clientId) return { ok: false, problem: "client_id must be this gateway's HEALOW_CLIENT_ID" }
  return { ok: true, form: ALLOWED.map((name) => `${name}=${encodeURIComponent(value(name))}`).join('&') }
}
