import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { loadAssets } from '../lib/pages/assets.js'
import { OPENAPI_INFO } from '../schemas/openapi-info.js'

const TAGS = [
  { name: 'Connections', description: 'Connect a patient at Healow and manage the stored connection' },
  { name: 'FHIR', description: "Read a connected patient's records through the gateway" },
  { name: 'Tenants', description: 'The Healow practice directory' },
  { name: 'Mere compatibility', description: 'The endpoints Mere web calls, unchanged' },
  { name: 'Operations', description: 'Health, readiness and the API document' },
  { name: 'Operator', description: 'For the operator of this gateway (ADMIN_TOKEN): every connection and its state' }
]

/** Every answer carries it (plugins/errors.ts sets it before anything else runs). */
const REQUEST_ID_HEADER = {
  description: "This request's id, also on every log line about it: the caller's own X-Request-Id when it is 8-128 characters of A-Z, a-z, 0-9, '.', '_' and '-', a new UUID otherwise. Quote it when reporting a problem.",
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{8,128}$' },
  example: '3f2b8c1e-9d4a-4f6b-8e2d-7a1c5b9e0f43'
}

type Responses = Record<string, { headers?: Record<string, unknown> }>
type OpenApiObject = {
  paths?: Record<string, Record<string, { responses?: Responses }>>,
  components?: Record<string, unknown>
}

/** Declares X-Request-Id once, on every response of every operation (including the hand-described FHIR ones). */
function withRequestIdHeader<T> (document: T): T {
  const openapi = document as OpenApiObject
  openapi.components = { ...openapi.components, headers: { 'X-Request-Id': REQUEST_ID_HEADER } }
  for (const operations of Object.values(openapi.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const response of Object.values(operation.responses ?? {})) {
        response.headers = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' }, ...response.headers }
      }
    }
  }
  return document
}

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
          },
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'ADMIN_TOKEN, the operator token the gateway was started with'
          }
        }
      },
      security: [{ connectionKey: [] }]
    },
    transformObject: (documentObject) => withRequestIdHeader('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject),
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    }
  })
  const icon = loadAssets().get('favicon.svg')!.body
  lazySwaggerUi(app, {
    routePrefix: '/docs',
    // Swagger UI's bundle inserts one <style> element (React, while rendering): allowed by its
    // hash, so the page needs no 'unsafe-inline'. A new Swagger UI whose style differs shows up as
    // a CSP violation in the browser test of /docs.
    staticCSP: {
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'", "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"],
      'img-src': ["'self'", 'data:'],
      'font-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
      'frame-ancestors': ["'none'"]
    },
    theme: {
      title: 'healow-sync API',
      favicon: [{ filename: 'favicon.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: icon }]
    },
    logo: { type: 'image/svg+xml', content: icon, href: `${app.config.PUBLIC_URL}/`, target: '_self' },
    // The document the gateway serves itself, not a second copy under /docs.
    uiConfig: { urls: [{ url: `${app.config.PUBLIC_URL}/openapi.json`, name: 'healow-sync' }] }
  })
}, { name: 'openapi', dependencies: ['config'] })

// Set by the server that answers, not by what it relays.
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date'])

/**
 * Swagger UI under /docs, loaded on the first request for it: the plugin, @fastify/static and the
 * routes they make cost about 3 MB of resident memory in every gateway, and most never show /docs.
 * It then runs in a Fastify instance of its own, which /docs and /docs/* relay to in-process.
 */
function lazySwaggerUi (app: FastifyInstance, options: FastifySwaggerUiOptions): void {
  let docs: Promise<FastifyInstance> | undefined
  const load = async (): Promise<FastifyInstance> => {
    const [{ default: Fastify }, { default: swaggerUi }] = await Promise.all([import('fastify'), import('@fastify/swagger-ui')])
    const instance = Fastify({ logger: false })
    // What Swagger UI needs of @fastify/swagger: this gateway's document, for its /docs/json and /docs/yaml.
    await instance.register(fp(async (docs) => { docs.decorate('swagger', app.swagger) }, { name: '@fastify/swagger' }))
    await instance.register(swaggerUi, options)
    await instance.ready()
    return instance
  }
  const relay = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    docs ??= load().catch((err: unknown) => {
      docs = undefined
      throw err
    })
    const answer = await (await docs).inject({ method: request.method as 'GET' | 'HEAD', url: request.url, headers: request.headers })
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !NOT_RELAYED.has(name)) reply.header(name, value)
    }
    return await reply.code(answer.statusCode).send(answer.rawPayload)
  }
  for (const url of ['/docs', '/docs/*']) app.route({ method: ['GET', 'HEAD'], url, schema: { hide: true }, handler: relay })
}
