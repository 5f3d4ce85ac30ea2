import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { PassThrough } from 'node:stream'
import { errorResponses, ref } from '../schemas/common.js'
import { ConnectionParams } from '../schemas/connections.js'
import { SyncStatus } from '../schemas/sync.js'
import type { SyncStatus as Status } from '../lib/sync/service.js'
import { isoTime } from '../lib/iso-time.js'

/** The status as the API shows it (times as ISO 8601). */
export function syncStatusBody (s: Status) {
  return { ...s, startedAt: isoTime(s.startedAt), finishedAt: isoTime(s.finishedAt), nextAt: isoTime(s.nextAt) }
}

const sync: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })

  app.post('/connections/:id/sync', {
    schema: {
      summary: "Start the connection's sync now (or answer the one running)",
      description: 'Fetches every record the connection grants, within the practice\'s Healow budget and behind interactive reads; pull the result with GET /connections/{id}/records.',
      operationId: 'startSync',
      tags: ['Sync'],
      params: ConnectionParams,
      response: { 202: ref(SyncStatus), ...errorResponses(401, 429) }
    }
  }, async (request, reply) => {
    await app.connections.authenticate(request.headers.authorization, request.params.id)
    return reply.code(202).send(syncStatusBody(await app.sync.start(request.params.id)))
  })

  app.get('/connections/:id/sync', {
    schema: {
      summary: "The connection's sync: status, progress per type, next scheduled run",
      operationId: 'getSync',
      tags: ['Sync'],
      params: ConnectionParams,
      response: { 200: ref(SyncStatus), ...errorResponses(401) }
    }
  }, async (request) => {
    await app.connections.authenticate(request.headers.authorization, request.params.id)
    return syncStatusBody(await app.sync.status(request.params.id))
  })

  app.get('/connections/:id/sync/events', {
    schema: {
      summary: "The running sync's progress as Server-Sent Events",
      description: 'One `progress` event (data: SyncStatus JSON) now and after every page, then `end` with the final status, and the stream closes. With no sync running: the status as `end` at once.',
      operationId: 'streamSync',
      tags: ['Sync'],
      params: ConnectionParams,
      response: {
        200: {
          description: 'text/event-stream of SyncStatus',
          content: {
            'text/event-stream': {
              schema: { type: 'string', examples: ['event: progress\ndata: {"status":"running","syncId":"0b6f7c1e-52a4-4d8e-9f0a-3c2d1e4b5a69"}\n\n'] }
            }
          }
        },
        ...errorResponses(401)
      }
    }
  }, async (request, reply) => {
    const id = request.params.id
    await app.connections.authenticate(request.headers.authorization, id)
    const stream = new PassThrough()
    const send = (event: string, status: Status): void => { stream.write(`event: ${event}\ndata: ${JSON.stringify(syncStatusBody(status))}\n\n`) }
    const unsubscribe = app.sync.subscribe(id, (status, finished) => {
      send(finished ? 'end' : 'progress', status)
      if (finished) stream.end()
    })
    stream.on('close', unsubscribe)
    request.raw.on('close', () => stream.end())
    const now = await app.sync.status(id)
    if (app.sync.isRunning(id)) send('progress', now)
    else {
      send('end', now)
      stream.end()
    }
    return reply.header('content-type', 'text/event-stream; charset=utf-8').header('x-accel-buffering', 'no').send(stream)
  })
}
export default sync
