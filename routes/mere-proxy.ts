import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest, FastifySchema } from 'fastify'
import { Type } from '@sinclair/typebox'
import { ref } from '../schemas/common.js'
import { FhirResource, OperationOutcome } from '../schemas/fhir.js'
import { MereTokenResponse } from '../schemas/mere.js'
import { setProxiedSecurityHeaders } from '../lib/security-headers.js'
import { RateLimitedError } from '../lib/errors.js'
import { FORM_BODY, keepFormText } from '../lib/fhir/form-body.js'
import { EXAMPLE, EXAMPLE_SEARCH, EXAMPLE_TOKEN_RESPONSE } from '../schemas/examples.js'

const MereProxyQuery = Type.Object({
  vendor: Type.String({ maxLength: 32, description: 'Always healow here; other vendors answer 404', examples: ['healow'] }),
  serviceId: Type.String({ minLength: 1, maxLength: 64, description: 'The practice id (tenant)', examples: [EXAMPLE.practiceId] }),
  target: Type.Optional(Type.String({ maxLength: 4096, description: 'target_type=base (required): the FHIR path relative to the practice base (URL-encoded), e.g. Observation?patient=123. target_type=token: left out (Mere web sends none), or the token URL itself', examples: [`Observation?patient=${EXAMPLE.patientId}`] })),
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
/** Every status the relay answers itself, each with its reasons; Healow's own answers pass through as they are. */
const RESPONSES = {
  200: relayed,
  400: refused('invalid_request: a malformed or missing query parameter, target missing for base, a token request that is not a public client\'s code exchange, a malformed form body; forbidden_target: a target outside the practice\'s FHIR base or token URL. Also Healow\'s own 400 (e.g. invalid_grant as OAuth JSON)'),
  401: refused('unauthorized: no Authorization: Bearer token on a base call (refused before any Healow request), or not a handle in vault-handle mode, or an unknown handle. Also Healow\'s own 401'),
  403: refused('forbidden_target: Origin (or Referer) is not PUBLIC_URL\'s origin exactly, or the handle belongs to another practice. Also Healow\'s own 403'),
  404: refused('not_found: another vendor than healow, or an unknown practice. Also Healow\'s own 404'),
  405: refused('method_not_allowed: target_type=token with another method than POST, or a method the FHIR grammar does not allow on the target'),
  413: refused('invalid_request: the body is larger than 64 KiB'),
  415: refused('invalid_request: a body that is not application/x-www-form-urlencoded'),
  429: refused("rate_limited, with Retry-After: the practice's share of Healow's request limit is spent, Healow answered 429, or this client address sent too many token requests"),
  502: refused('upstream_unavailable: Healow could not be reached or dropped the connection (or, in vault-handle mode, answered the code exchange without a token)'),
  504: refused('upstream_timeout: Healow did not answer in time'),
  '4xx': refused("Healow's other refusals, passed through as they are"),
  '5xx': refused("Healow's own server errors, passed through as they are")
}

/** Token requests per minute from one client address: a code exchange happens once per login. */
export const TOKEN_RELAY_PER_MINUTE = 10

/**
 * The form body is parsed as a string and checked by the relay itself, so it is described for the
 * document only (a body schema would make Fastify validate the string against an object).
 */
const FORM_BODY_SCHEMA = Type.Object({}, {
  additionalProperties: Type.String(),
  description: "target_type=base: the search parameters of a {Type}/_search; target_type=token: the OAuth token request's parameters",
  examples: [EXAMPLE_SEARCH]
})
const documentFormBody = ({ schema, url }: { schema: FastifySchema, url: string }) =>
  ({ schema: { ...schema, body: { content: { 'application/x-www-form-urlencoded': { schema: FORM_BODY_SCHEMA } } } }, url })

const mereProxy: FastifyPluginAsyncTypebox = async (app) => {
  app.addContentTypeParser(FORM_BODY.contentType, FORM_BODY.options, keepFormText)
  app.addHook('onRequest', setProxiedSecurityHeaders)

  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: '/api/proxy',
      config: method === 'POST'
        ? {
            swaggerTransform: documentFormBody,
            errorFormat: 'fhir',
            // The token relay takes no credential, so each address gets a few a minute; base calls need a bearer token.
            rateLimit: {
              max: TOKEN_RELAY_PER_MINUTE,
              timeWindow: 60_000,
              allowList: (request: FastifyRequest) => (request.query as { target_type?: unknown }).target_type !== 'token',
              errorResponseBuilder: (_request: FastifyRequest, context: { ttl: number }) =>
                new RateLimitedError(context.ttl, `Too many token requests from this address (${TOKEN_RELAY_PER_MINUTE} a minute); try again after Retry-After`)
            }
          }
        : { errorFormat: 'fhir' },
      schema: {
        summary: method === 'GET' ? "Relay a FHIR read to the practice (Mere web's /api/proxy)" : 'Relay a FHIR _search or a token request to the practice (Mere web\'s /api/proxy)',
        description: "The browser's Authorization: Bearer (Healow's token, or an hsa. handle in vault-handle mode) goes along and is required for target_type=base; Origin or Referer must be PUBLIC_URL's origin. target_type=token (POST) relays a public client's authorization-code exchange only, " + TOKEN_RELAY_PER_MINUTE + ' a minute per client address.',
        operationId: method === 'GET' ? 'mereProxyGet' : 'mereProxyPost',
        tags: ['Mere compatibility'],
        security: [],
        querystring: MereProxyQuery,
        response: RESPONSES
      },
      handler: async (request, reply) => await app.mereProxy.relay(request, reply, request.query)
    })
  }
}
export default mereProxy
