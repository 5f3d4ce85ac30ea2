import type { Test } from 'tap'
import { MereWeb } from '../../helpers/mere-web.js'
import type { ContractStack } from '../context.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

/**
 * Mere web's endpoints: the code exchange and refresh with the secret added server-side
 * (confidential mode), and the /api/proxy relay with its OperationOutcome refusals. Mere's own
 * part of the login (its PKCE, Healow's login page) is played by MereWeb.
 */
export async function mereContracts (t: Test, { client, stack }: ContractStack): Promise<void> {
  const api = client(t)
  const mere = new MereWeb(stack)
  const practice = stack.sim.practices[0]
  const origin = { origin: mere.origin }
  const { code, codeVerifier } = await mere.authorize(practice.id)
  const exchange = { code, redirect_uri: mere.redirectUri, code_verifier: codeVerifier, tenant_id: practice.id }

  if (stack.mode === 'public') {
    const refused = await api.POST('/api/v1/healow/token', { body: exchange, headers: origin })
    t.equal(refused.error?.error, 'server_configuration_error', 'a public client has no secret to add')
    const form = { grant_type: 'authorization_code', code, redirect_uri: mere.redirectUri, code_verifier: codeVerifier, client_id: stack.gw.config.HEALOW_CLIENT_ID }
    // As Mere web sends it: no target parameter.
    const relayed = await api.POST('/api/proxy', { params: { query: { vendor: 'healow', serviceId: practice.id, target_type: 'token' } }, body: form, headers: { ...origin, ...FORM } })
    t.ok((relayed.data as { access_token?: string } | undefined)?.access_token, "the token relay passes Healow's answer back")
    const replayed = await api.POST('/api/proxy', { params: { query: { vendor: 'healow', serviceId: practice.id, target: '', target_type: 'token' } }, body: form, headers: { ...origin, ...FORM } })
    t.equal(replayed.response.status, 400, "Healow's refusal of a used code passes through")
    return
  }

  const tokens = await api.POST('/api/v1/healow/token', { body: exchange, headers: origin })
  const accessToken = tokens.data?.access_token ?? ''
  t.ok(accessToken && tokens.data?.refresh_token, 'tokens for Mere web')
  const refreshed = await api.POST('/api/v1/healow/refresh', { body: { refresh_token: tokens.data?.refresh_token ?? '', tenant_id: practice.id }, headers: origin })
  t.ok(refreshed.data?.access_token, 'refreshed')
  t.equal((await api.POST('/api/v1/healow/refresh', { body: { refresh_token: 'never-issued', tenant_id: practice.id }, headers: origin })).response.status, 400, 'unknown refresh token')
  t.equal((await api.POST('/api/v1/healow/refresh', { body: { refresh_token: 'x', tenant_id: 'NOSUCH' }, headers: origin })).error?.error, 'invalid_tenant')

  const relay = (target: string, init: { vendor?: string, targetType?: 'base' | 'token', headers?: Record<string, string> } = {}) =>
    api.GET('/api/proxy', { params: { query: { vendor: init.vendor ?? 'healow', serviceId: practice.id, target, target_type: init.targetType } }, headers: init.headers ?? { ...origin, authorization: `Bearer ${refreshed.data?.access_token}` } })
  const observations = await relay(`Observation?patient=${practice.patientId}`)
  t.equal((observations.data as { resourceType?: string } | undefined)?.resourceType, 'Bundle', 'a search through the relay')
  const posted = await api.POST('/api/proxy', {
    params: { query: { vendor: 'healow', serviceId: practice.id, target: 'Observation/_search' } },
    body: { patient: practice.patientId },
    headers: { ...origin, ...FORM, authorization: `Bearer ${refreshed.data?.access_token}` }
  })
  t.equal((posted.data as { resourceType?: string } | undefined)?.resourceType, 'Bundle', 'a POST _search through the relay')

  t.equal((await relay('Patient', { headers: { authorization: `Bearer ${accessToken}` } })).response.status, 403, 'no Origin: not Mere web')
  t.equal((await relay(`Patient/${practice.patientId}`, { headers: origin })).response.status, 401, 'no token: refused before Healow is asked')
  t.equal((await relay('http://elsewhere.example/fhir/Patient')).response.status, 400, 'a target outside the practice')
  t.equal((await relay('Patient', { headers: { ...origin, authorization: 'Basic abc' } })).response.status, 401, 'not a bearer token')
  t.equal((await relay('Patient', { vendor: 'epic' })).response.status, 404, 'another vendor')
  t.equal((await relay('', { targetType: 'token' })).response.status, 405, 'the token relay takes POST only')
  // Last: Healow answers a replayed code with invalid_grant and revokes what the code gave.
  t.equal((await api.POST('/api/v1/healow/token', { body: exchange, headers: origin })).error?.error, 'invalid_grant', 'a code works once')
}
