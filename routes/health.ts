import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref } from '../schemas/common.js'
import { Health, Readiness } from '../schemas/instance.js'

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    schema: {
      summary: 'Liveness: the process is up',
      operationId: 'getHealth',
      tags: ['Operations'],
      security: [],
      response: { 200: ref(Health) }
    }
  }, async () => ({ status: 'ok' as const }))

  app.get('/ready', {
    schema: {
      summary: 'Readiness: every dependency is up (503 names the ones that are not)',
      operationId: 'getReadiness',
      tags: ['Operations'],
      security: [],
      response: { 200: ref(Readiness), 503: ref(Readiness) }
    }
  }, async (_request, reply) => {
    const report = await app.readiness.report()
    return reply.code(report.ready ? 200 : 503).send(report)
  })
}
export default health
