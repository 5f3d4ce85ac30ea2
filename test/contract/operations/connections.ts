import type { Test } from 'tap'
import { loginAtHealow, resultPage, startConnecting } from '../connect.js'
import { bearer, type ContractStack } from '../context.js'

/**
 * Connecting (startConnect, finishConnect and claimConnection already ran for every connected
 * patient) and managing a connection: its refusals, refresh and deletion.
 */
export async function connectionContracts (t: Test, { client, patient, stack, connect }: ContractStack): Promise<void> {
  const api = client(t)
  const id = { path: { id: patient.connectionId } }

  const status = await api.GET('/connections/{id}', { params: id, headers: bearer(patient.key) })
  t.equal(status.data?.patientId, patient.patientId)
  t.equal(status.data?.refreshable, stack.mode === 'confidential', 'refreshable in confidential mode only')
  t.equal((await api.GET('/connections/{id}', { params: id, headers: bearer('hsk_wrong-key-wrong-key-wrong-key') })).response.status, 401, 'wrong key')
  t.equal((await api.GET('/connections/{id}', { params: id })).response.status, 401, 'no key')
  t.equal((await api.GET('/connections/{id}', { params: { path: { id: 'not-a-uuid' } }, headers: bearer(patient.key) })).response.status, 400, 'not a connection id')

  const refreshed = await api.POST('/connections/{id}/refresh', { params: id, headers: bearer(patient.key) })
  if (stack.mode === 'confidential') t.equal(refreshed.response.status, 200, 'refreshed now')
  else t.equal(refreshed.error?.code, 'reauth_required', 'public mode has no refresh token: the patient logs in again')

  t.equal((await api.POST('/connections/claim', { body: { handoff: 'hsh_never-issued-code' } })).response.status, 400, 'unknown handoff')
  t.equal((await api.POST('/connections/claim', { body: { handoff: 'short' } })).response.status, 400, 'malformed handoff')
  t.equal((await api.GET('/healow/connect', { params: { query: { tenant: 'no such practice' } }, redirect: 'manual' })).response.status, 400, 'malformed practice id')
  t.equal((await api.GET('/healow/connect', { params: { query: { tenant: 'NOSUCH' } }, redirect: 'manual' })).response.status, 404, 'unknown practice')

  // The patient declines at Healow: Healow sends the browser back with an error and the state.
  const { healowLogin, cookie } = await startConnecting(api, stack.sim.practices[0].id)
  const state = healowLogin.searchParams.get('state') ?? ''
  const declined = await api.GET('/healow/callback', { params: { query: { error: 'access_denied', error_description: 'The patient said no', state } }, headers: { cookie }, redirect: 'manual' })
  t.equal(declined.response.status, 303, 'declined: to the result page')
  t.match(await resultPage(declined.response), /Not connected/, 'which says so')
  t.equal((await api.GET('/healow/callback', { params: { query: { code: 'forged', state: 'forged' } }, parseAs: 'text' })).response.status, 400, 'a callback this browser did not start')
  // A callback that returns to an allowed page carries the handoff in the fragment.
  const returning = await startConnecting(api, stack.sim.practices[0].id, `${stack.gw.url}/app`)
  const back = await api.GET('/healow/callback', { params: { query: await loginAtHealow(returning.healowLogin) }, headers: { cookie: returning.cookie }, redirect: 'manual' })
  t.match(back.response.headers.get('location'), /\/app#handoff=hsh_/, 'redirected back with the handoff')

  const leaving = await connect(t, 2)
  t.equal((await api.DELETE('/connections/{id}', { params: { path: { id: leaving.connectionId } }, headers: bearer(leaving.key) })).response.status, 204, 'disconnected')
  t.equal((await api.GET('/connections/{id}', { params: { path: { id: leaving.connectionId } }, headers: bearer(leaving.key) })).response.status, 401, 'the key died with the connection')
}
