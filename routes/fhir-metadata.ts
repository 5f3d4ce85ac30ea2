import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type TSchema } from '@sinclair/typebox'
import { setProxiedSecurityHeaders } from '../lib/security-headers.js'
import { GatewayError } from '../lib/errors.js'
import { ref } from '../schemas/common.js'
import { FhirResource, OperationOutcome } from '../schemas/fhir.js'
import { EXAMPLE } from '../schemas/examples.js'

/** A FHIR answer (application/fhir+json) of the given schema. */
const fhir = <T extends TSchema>(description: string, schema: T) => ({ description, content: { 'application/fhir+json': { schema } } })
// Sent as the JSON text the cache keeps: the handler's type is a string, the document names the schema.
const CapabilityStatementText = Type.Unsafe<string>(Type.Ref(FhirResource.$id!))
const Outcome = ref(OperationOutcome)

const Params = Type.Object({
  connectionId: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$', description: 'The connection whose practice is described (no key needed)', examples: [EXAMPLE.connectionId] })
})

/**
 * Discovery under /fhir/{connectionId}, for SMART clients: the practice's CapabilityStatement
 * without the key, and no SMART configuration (the key comes from the gateway's own connect and
 * claim, not from a SMART authorization server).
 */
const fhirMetadataRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Every answer here is FHIR, errors too (OperationOutcome).
  app.addHook('onRoute', (route) => { route.config = { ...route.config, errorFormat: 'fhir' } })
  app.addHook('onRequest', setProxiedSecurityHeaders)

  app.get('/fhir/:connectionId/metadata', {
    schema: {
      summary: "The practice's CapabilityStatement, without the connection key",
      description: "Healow's CapabilityStatement for the connection's practice (public at Healow too, and without patient data), cached for an hour per practice. The SMART oauth-uris extension is removed: the gateway does not accept Healow's tokens, only the connection key. `/fhir/{connectionId}/.well-known/smart-configuration` answers 404 for the same reason: the gateway is not a SMART authorization server and does not send clients to Healow's; a client gets the key through /healow/connect and POST /connections/claim.",
      operationId: 'getFhirMetadata',
      tags: ['FHIR'],
      security: [],
      params: Params,
      response: {
        200: fhir("The practice's CapabilityStatement", CapabilityStatementText),
        404: fhir('not_found: no such connection', Outcome),
        429: fhir("rate_limited: the practice's share of Healow's limit is spent (only when the statement is not cached)", Outcome),
        502: fhir('upstream_unavailable: Healow failed or answered something else', Outcome),
        504: fhir('upstream_timeout: Healow did not answer within UPSTREAM_TIMEOUT_MS', Outcome)
      }
    }
  }, async (request, reply) => {
    const text = await app.fhirMetadata(request.params.connectionId)
    return reply.type('application/fhir+json; charset=utf-8').header('cache-control', 'max-age=3600').send(text)
  })

  app.get('/fhir/:connectionId/.well-known/smart-configuration', {
    schema: {
      // Documented as readFhir's 404: an operation without a success answer is not one (OpenAPI
      // linters refuse it).
      hide: true,
      params: Params,
      response: { 404: fhir('not_found, always', Outcome) }
    }
  }, async () => {
    throw new GatewayError(404, 'not_found', `No SMART authorization server here: connect at ${app.config.PUBLIC_URL}/healow/connect, claim the connection key, and send it as "Authorization: Bearer <key>"`)
  })
}
export default fhirMetadataRoutes
