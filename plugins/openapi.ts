import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

export const OPENAPI_INFO = {
  title: 'healow-sync',
  version: '0.1.0',
  description: 'Self-hosted SMART on FHIR gateway between Mere Medical (and any client) and eClinicalWorks / Healow patient portals.',
  license: { name: 'MIT', identifier: 'MIT' }
}

const TAGS = [
  { name: 'Connections', description: 'Connect a patient at Healow and manage the stored connection' },
  { name: 'FHIR', description: "Read a connected patient's records through the gateway" },
  { name: 'Tenants', description: 'The Healow practice directory' },
  { name: 'Mere compatibility', description: 'The endpoints Mere web calls, unchanged' },
  { name: 'Operations', description: 'Health, readiness and the API document' }
]

/**
 * Builds the OpenAPI document from the routes' TypeBox schemas. Shared schemas keep their $id as
 * component names, so generated clients get readable type names.
 */
export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      servers: [{ url: app.config.PUBLIC_URL, description: 'This gateway' }],
      tags: TAGS,
      components: {
        securitySchemes: {
          connectionKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'The connection key returned once by POST /connections/claim'
          }
        }
      },
      security: [{ connectionKey: [] }]
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
}, { name: 'openapi', dependencies: ['config'] })
