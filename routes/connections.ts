import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { ref } from '../schemas/common.js'
import { ClaimRequest, ClaimResponse, ConnectionParams, ConnectionStatus } from '../schemas/connections.js'
import type { ConnectionRow } from '../lib/store/types.js'
import { isoTime } from '../lib/iso-time.js'
import { requestError } from '../lib/errors.js'

function describe (app: FastifyInstance, row: ConnectionRow): Static<typeof ConnectionStatus> {
  const { PUBLIC_URL } = app.config
  return {
    id: row.id,
    practiceId: row.practiceId,
    fhirBase: row.fhirBase,
    fhirUrl: `${PUBLIC_URL}/fhir/${row.id}`,
    patientId: row.patientId,
    scopes: row.scope.split(' ').filter(Boolean),
    status: row.status,
    accessTokenExpiresAt: isoTime(row.accessExpiresAt),
    refreshable: row.refreshable,
    lastRefreshAt: isoTime(row.lastRefreshAt),
    lastError: row.lastError,
    createdAt: isoTime(row.createdAt),
    reconnectUrl: `${PUBLIC_URL}/healow/connect?tenant=${encodeURIComponent(row.practiceId)}`
  }
}

const connections: FastifyPluginAsyncTypebox = async (app) => {
  // Keys and connection details must never sit in a shared cache.
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })

  // The key check already read the record; it answers 401 when there is none.
  const authenticated = async (request: FastifyRequest & { params: { id: string } }) =>
    (await app.connections.authenticate(request.headers.authorization, request.params.id)).record

  app.post('/connections/claim', {
    config: { rateLimit: { max: 10, timeWindow: '1 minute' } },
    schema: {
      summary: 'Exchange the one-time handoff code for the connection and its key (shown once)',
      operationId: 'claimConnection',
      tags: ['Connections'],
      security: [],
      body: ref(ClaimRequest),
      response: { 201: ref(ClaimResponse) }
    }
  }, async (request, reply) => {
    const claimed = await app.connections.claim(request.body.handoff)
    if (!claimed) throw requestError(400, 'This handoff code is unknown, already used, or expired (codes live 5 minutes); connect again')
    const row = await app.vault.record(claimed.connectionId)
    if (!row) throw requestError(404, 'The connection no longer exists')
    return reply.code(201).send({ connection: describe(app, row), key: claimed.key })
  })

  app.get('/connections/:id', {
    schema: {
      summary: "A connection's practice, patient, scopes and token health",
      operationId: 'getConnection',
      tags: ['Connections'],
      params: ConnectionParams,
      response: { 200: ref(ConnectionStatus) }
    }
  }, async (request) => describe(app, await authenticated(request)))

  app.delete('/connections/:id', {
    schema: {
      summary: "Disconnect: destroys the connection's tokens and key",
      operationId: 'deleteConnection',
      tags: ['Connections'],
      params: ConnectionParams,
      response: { 204: { description: 'Deleted', type: 'null' } }
    }
  }, async (request, reply) => {
    await authenticated(request)
    await app.vault.destroy(request.params.id)
    return reply.code(204).send()
  })

  app.post('/connections/:id/refresh', {
    schema: {
      summary: 'Refresh the access token now (confidential mode)',
      operationId: 'refreshConnection',
      tags: ['Connections'],
      params: ConnectionParams,
      response: { 200: ref(ConnectionStatus) }
    }
  }, async (request) => {
    await authenticated(request)
    await app.tokens.refresh(request.params.id)
    return describe(app, (await app.vault.record(request.params.id))!)
  })
}
export default connections
