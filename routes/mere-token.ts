import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref } from '../schemas/common.js'
import { MereRefreshRequest, MereTokenRequest, MereTokenResponse } from '../schemas/mere.js'

const answers = {
  200: ref(MereTokenResponse),
  '4xx': ref(MereTokenResponse),
  '5xx': ref(MereTokenResponse)
}

const mereToken: FastifyPluginAsyncTypebox = async (app) => {
  // Tokens in these bodies must never be cached by anything between us and the browser.
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store').header('pragma', 'no-cache') })

  app.post('/api/v1/healow/token', {
    config: { rateLimit: { max: 30, timeWindow: '1 minute' } },
    schema: {
      summary: 'Exchange an authorization code at Healow, adding the client secret server-side',
      operationId: 'mereExchangeCode',
      tags: ['Mere compatibility'],
      security: [],
      body: ref(MereTokenRequest),
      response: answers
    }
  }, async (request, reply) => {
    const answer = await app.mereCompat.exchange(request.body)
    return reply.code(answer.status).send(answer.body)
  })

  app.post('/api/v1/healow/refresh', {
    config: { rateLimit: { max: 60, timeWindow: '1 minute' } },
    schema: {
      summary: 'Refresh at Healow (one call per refresh token, shared by concurrent tabs), or refresh a vault handle',
      operationId: 'mereRefresh',
      tags: ['Mere compatibility'],
      security: [],
      body: ref(MereRefreshRequest),
      response: answers
    }
  }, async (request, reply) => {
    const answer = await app.mereCompat.refresh(request.body)
    return reply.code(answer.status).send(answer.body)
  })
}
export default mereToken
