// A plain OAuth client for the simulator's tests: builds authorize URLs with PKCE,
// walks the login with PatientBrowser, and calls the token endpoint. No gateway.
import { createHash, randomBytes } from 'node:crypto'
import { fetch } from 'undici'
import { followLogin, type PatientBrowser } from '../../simulator/browser.js'
import type { Practice, Simulator } from '../../simulator/index.js'

export const SCOPES = 'openid fhirUser patient/Patient.read patient/Observation.read patient/Condition.read patient/Binary.read patient/CarePlan.read patient/Goal.read patient/DocumentReference.read'
/** Never requested: the walk stops before it. Any port is accepted by default. */
export const REDIRECT_URI = 'http://127.0.0.1:9/healow/callback'

export type ClientKind = 'public' | 'confidential'

export interface AuthorizeOverrides {
  aud?: string | null
  codeChallengeMethod?: string | null
  scope?: string
  redirectUri?: string
}

export function authorizeRequest (
  sim: Simulator,
  practice: Practice,
  kind: ClientKind,
  overrides: AuthorizeOverrides = {}
) {
  const verifier = randomBytes(32).toString('base64url')
  const method = overrides.codeChallengeMethod === undefined ? 'S256' : overrides.codeChallengeMethod
  const url = new URL(sim.authorizeUrl)
  const params: Record<string, string | null> = {
    response_type: 'code',
    client_id: sim.clients[kind].clientId,
    redirect_uri: overrides.redirectUri ?? REDIRECT_URI,
    scope: overrides.scope ?? (kind === 'confidential' ? `${SCOPES} offline_access` : SCOPES),
    state: randomBytes(8).toString('hex'),
    aud: overrides.aud === undefined ? practice.fhirBase : overrides.aud,
    code_challenge: method === null ? null : method === 'plain' ? verifier : createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: method
  }
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value)
  return { url, verifier, state: params.state! }
}

/** Authorize → login → redirect back; the callback URL's query (code or error). */
export async function authorize (
  sim: Simulator,
  practice: Practice,
  kind: ClientKind,
  overrides: AuthorizeOverrides = {},
  browser?: PatientBrowser
) {
  const request = authorizeRequest(sim, practice, kind, overrides)
  const walk = await followLogin(request.url, { browser })
  return { ...walk, verifier: request.verifier, state: request.state, callback: walk.finalUrl.searchParams }
}

export async function tokenRequest (sim: Simulator, kind: ClientKind, form: Record<string, string>, secret?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  const body = new URLSearchParams(form)
  if (kind === 'confidential') {
    const { clientId, clientSecret } = sim.clients.confidential
    headers.authorization = `Basic ${Buffer.from(`${clientId}:${secret ?? clientSecret}`).toString('base64')}`
  } else {
    body.set('client_id', sim.clients.public.clientId)
  }
  const response = await fetch(sim.tokenUrl, { method: 'POST', headers, body })
  return { status: response.status, headers: response.headers, body: await response.json() as Record<string, any> }
}

/** The whole connection: a token response for the practice's demo patient. */
export async function connect (
  sim: Simulator,
  practice: Practice,
  kind: ClientKind,
  overrides: AuthorizeOverrides = {}
) {
  const { callback, verifier } = await authorize(sim, practice, kind, overrides)
  const code = callback.get('code')
  if (!code) throw new Error(`no code: ${callback}`)
  return tokenRequest(sim, kind, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier })
}

export async function fhirGet (url: string, accessToken?: string) {
  const response = await fetch(url, { headers: accessToken ? { authorization: `Bearer ${accessToken}`, accept: 'application/fhir+json' } : {} })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
}
