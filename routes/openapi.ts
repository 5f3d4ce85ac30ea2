import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

const openapiDocument: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/openapi.json', {
    schema: {
      summary: 'This OpenAPI document',
      operationId: 'getOpenApiDocument',
      tags: ['Operations'],
      security: [],
      response: {
        200: Type.Object({}, {
          additionalProperties: true,
          description: 'OpenAPI 3.1 document',
          examples: [{ openapi: '3.1.0', info: { title: 'healow-sync', version: '0.1.0' }, paths: {} }]
        })
      }
    }
  }, async (_request, reply) => reply.type('application/json').send(JSON.stringify(app.swagger())))
}
export default openapiDocument
