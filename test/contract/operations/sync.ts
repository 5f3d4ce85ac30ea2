import type { Test } from 'tap'
import { bearer, type ContractStack } from '../context.js'

/** The sync: start, status, the status stream, and pulling records by cursor. */
export async function syncContracts (t: Test, { client, patient }: ContractStack): Promise<void> {
  const api = client(t)
  const id = { path: { id: patient.connectionId } }
  const headers = bearer(patient.key)

  const started = await api.POST('/connections/{id}/sync', { params: id, headers })
  t.equal(started.response.status, 202, 'started')
  const again = await api.POST('/connections/{id}/sync', { params: id, headers })
  t.equal(again.data?.syncId, started.data?.syncId, 'a second start answers the running sync')
  let status = await api.GET('/connections/{id}/sync', { params: id, headers })
  for (let i = 0; i < 300 && status.data?.status === 'running'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    status = await api.GET('/connections/{id}/sync', { params: id, headers })
  }
  t.equal(status.data?.status, 'succeeded')
  const events = await api.GET('/connections/{id}/sync/events', { params: id, headers, parseAs: 'text' })
  t.match(events.data, /^event: end\ndata: \{"status":"succeeded"/, 'with no sync running, the status as end at once')

  const records = await api.GET('/connections/{id}/records', { params: { ...id, query: { limit: 20 } }, headers })
  t.equal(records.data?.resources.length, 20)
  t.equal(records.data?.more, true)
  const rest = await api.GET('/connections/{id}/records', { params: { ...id, query: { since: records.data?.cursor, type: 'Patient' } }, headers })
  t.equal(rest.response.status, 200)
  t.equal((await api.GET('/connections/{id}/records', { params: { ...id, query: { limit: 0 } }, headers })).response.status, 400, 'limit 0')
  t.equal((await api.GET('/connections/{id}/sync', { params: id, headers: bearer('hsk_wrong-key-wrong-key-wrong-key') })).response.status, 401, 'wrong key')
}
