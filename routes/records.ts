import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, ref } from '../schemas/common.js'
import { ConnectionParams } from '../schemas/connections.js'
import { RecordChanges, RecordsQuery } from '../schemas/sync.js'
import { readChanges } from '../lib/sync/records.js'

const records: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })

  app.get('/connections/:id/records', {
    schema: {
      summary: 'What changed in the synced records since a cursor',
      description: 'Resources new or changed, and deletions, in change order. Keep `cursor` and send it as `since` next time; while `more` is true, ask again at once.',
      operationId: 'listRecords',
      tags: ['Sync'],
      params: ConnectionParams,
      querystring: RecordsQuery,
      response: { 200: ref(RecordChanges), ...errorResponses(400, 401) }
    }
  }, async (request) => {
    await app.connections.authenticate(request.headers.authorization, request.params.id)
    const { since, limit = 500, type } = request.query
    const from = since === undefined ? 0 : Number(since)
    return await readChanges(app.store, app.recordSealer(), request.params.id, { since: from, limit, type })
  })
}
export default records
