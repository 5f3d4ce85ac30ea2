import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifySchema } from 'fastify'
import { Type } from '@sinclair/typebox'
import { ref } from '../schemas/common.js'
import { FhirResource, OperationOutcome } from '../schemas/fhir.js'
import { MereTokenResponse } from '../schemas/mere.js'
import { setProxiedSecurityHeaders } from '../plugins/security-headers.js'
import { EXAMPLE, EXAMPLE_SEARCH, EXAMPLE_TOKEN_RESPONSE } from '../schemas/examples.js'

const FORM_BODY_LIMIT = 64 * 1024

const MereProxyQuery = Type.Object({
  vendor: Type.String({ maxLength: 32, description: 'Always healow here; other vendors answer 404', examples: ['healow'] }),
  serviceId: Type.String({ minLength: 1, maxLength: 64, description: 'The practice id (tenant)', examples: [EXAMPLE.practiceId] }),
  target: Type.String({ maxLength: 4096, description: 'The FHIR path relative to the practice base (URL-encoded), e.g. Observation?patient=123', examples: [`Observation?patient=${EXAMPLE.patientId}`] }),
  target_type: Type.Optional(Type.Union([Type.Literal('base'), Type.Literal('token')], { description: "base: under the practice's FHIR base; token: the practice's token URL (form POST)", default: 'base', examples: ['base'] }))
})

const relayed = {
  description: "Healow's answer, status and body as is (Bundles unchanged)",
  content: {
    'application/fhir+json': { schema: ref(FhirResource) },
    'application/json': { schema: Type.Object({}, { additionalProperties: true, description: "Healow's token endpoint answer (target_type=token)", examples: [EXAMPLE_TOKEN_RESPONSE] }) }
  }
}
const refused = (description: string) => ({
  description,
  content: { 'application/fhir+json': { schema: ref(OperationOutcome) }, 'application/json': { schema: ref(MereTokenResponse) } }
})

/**
 * The form body is parsed as a string and checked by the relay itself, so it is described for the
 * document only (a body schema would make Fastify validate the string against an object).
 */
const FORM_BODY = Type.Object({}, {
  additionalProperties: Type.String(),
  description: "target_type=base: the search parameters of a {Type}/_search; target_type=token: the OAuth token request's parameters",
  examples: [EXAMPLE_SEARCH]
})
const documentFormBody = ({ schema, url }: { schema: FastifySchema, url: string }) =>
  ({ schema: { ...schema, body: { content: { 'application/x-www-form-urlencoded': { schema: FORM_BODY } } } }, url })

const mereProxy: FastifyPluginAsyncTypebox = async (app) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => done(null, body))
  app.setErrorHandler(app.fhirProxy.replyWithOutcome)
  app.addHook('onRequest', setProxiedSecurityHeaders)

  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: '/api/proxy',
      config: method === 'POST' ? { swaggerTransform: documentFormBody } : {},
      schema: {
        summary: method === 'GET' ? "Relay a FHIR read to the practice (Mere web's /api/proxy)" : 'Relay a FHIR _search or a token request to the practice (Mere web\'s /api/proxy)',
        description: "The browser's Authorization: Bearer (Healow's token, or an hsa. handle in vault-handle mode) goes along; Origin or Referer must be PUBLIC_URL.",
        operationId: method === 'GET' ? 'mereProxyGet' : 'mereProxyPost',
        tags: ['Mere compatibility'],
        security: [],
        querystring: MereProxyQuery,
        response: {
          200: relayed,
          '4xx': refused("The gateway's refusals (forbidden_target, unauthorized, not_found, method_not_allowed, rate_limited) and Healow's FHIR errors as OperationOutcome; Healow's token endpoint errors as OAuth JSON"),
          '5xx': refused('upstream_unavailable or upstream_timeout as OperationOutcome; Healow\'s token endpoint errors as OAuth JSON')
        }
      },
      handler: async (request, reply) => await app.mereProxy.relay(request, reply, request.query)
    })
  }
}
export default mereProxy
