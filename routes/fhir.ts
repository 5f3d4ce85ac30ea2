import type { FastifyPluginAsync } from 'fastify'
import httpProxy from '@fastify/http-proxy'
import { setProxiedSecurityHeaders } from '../lib/security-headers.js'
import { FORM_BODY, keepFormText } from '../lib/fhir/form-body.js'
import { EXAMPLE, EXAMPLE_SEARCH } from '../schemas/examples.js'

/**
 * The proxy's routes are `/fhir` and `/fhir/*`: the connection id is read from the raw URL with
 * the FHIR path (checkTarget), not taken from a route parameter. A parameter in the prefix makes
 * @fastify/http-proxy rebuild, on every request, a destination the proxy never uses (~6% of a
 * proxied read's CPU).
 */
const FHIR_PREFIX = '/fhir'

/**
 * `/fhir/{connectionId}/…`: a patient's records through @fastify/http-proxy. Everything the
 * proxy decides lives in the fhir-proxy plugin; this file wires it and documents it.
 */
const fhirRoutes: FastifyPluginAsync = async (app) => {
  const proxy = app.fhirProxy
  app.addContentTypeParser(FORM_BODY.contentType, FORM_BODY.options, keepFormText)
  app.addHook('onRequest', setProxiedSecurityHeaders)
  app.addHook('onRequest', proxy.checkTarget)
  app.addHook('preHandler', proxy.openExchange)

  await app.register(httpProxy, {
    prefix: FHIR_PREFIX,
    // The origin is chosen per request (getUpstream, honoured only with upstream ''), the path by `handler`.
    upstream: '',
    // PUT, DELETE and PATCH are routed so that they get a FHIR 405 instead of a 404.
    httpMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'],
    proxyPayloads: false,
    disableRequestLogging: true,
    replyOptions: proxy.replyOptions,
    handler: proxy.forward,
    undici: {
      connections: 128,
      headersTimeout: app.config.UPSTREAM_TIMEOUT_MS,
      bodyTimeout: app.config.UPSTREAM_TIMEOUT_MS
    },
    config: { swaggerTransform: describeFhirProxy, errorFormat: 'fhir' }
  })
}
export default fhirRoutes

type OpenApiDocument = { paths: Record<string, unknown> }

const outcome = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/fhir+json': { schema: { $ref: '#/components/schemas/OperationOutcome' } } }
})

const ERROR_RESPONSES = {
  400: outcome('forbidden_target: the path, query or form is outside the FHIR grammar the gateway forwards; nothing was sent to Healow'),
  401: outcome('unauthorized: missing or wrong connection key; reauth_required: Healow no longer accepts the connection and the patient must connect again (diagnostics holds the reconnect URL)'),
  404: outcome('not_found: not a FHIR interaction the gateway forwards, or Healow has no such resource'),
  429: outcome("rate_limited: the practice's share of Healow's limit (250 requests per minute) is spent", {
    'Retry-After': { description: 'Seconds until a request will be accepted', schema: { type: 'integer', minimum: 1 } }
  }),
  502: outcome('upstream_unavailable: Healow could not be reached, failed, or redirected outside the practice'),
  503: outcome("upstream_unavailable: Healow's token endpoint cannot give a usable access token now (down, slow, or its answer was lost); the connection is kept", {
    'Retry-After': { description: 'Seconds after which to try again', schema: { type: 'integer', minimum: 1 } }
  }),
  504: outcome('upstream_timeout: Healow did not answer within UPSTREAM_TIMEOUT_MS')
}

const METHOD_NOT_ALLOWED = outcome('method_not_allowed: only GET/HEAD reads and POST {Type}/_search are forwarded (a GET {Type}/_search too is refused)')

const FHIR_OK = {
  description: "Healow's answer. Searches, paging links and history answer a Bundle whose practice links are rewritten to point through the gateway; reads stream through unchanged",
  content: { 'application/fhir+json': { schema: { $ref: '#/components/schemas/FhirResource' } } }
}

const CONNECTION_ID = {
  name: 'connectionId',
  in: 'path',
  required: true,
  description: 'The connection to read through (its key goes in the Authorization header)',
  schema: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$', examples: [EXAMPLE.connectionId] }
}

const SEARCH_PARAMETERS = {
  name: 'search',
  in: 'query',
  required: false,
  style: 'form',
  explode: true,
  description: 'FHIR search parameters (patient, _id, category, date, …), or the paging parameters of a Bundle link; re-encoded before forwarding',
  schema: { type: 'object', additionalProperties: { type: 'string' }, examples: [EXAMPLE_SEARCH] }
}

/**
 * The wildcard routes cannot describe themselves (a FHIR path has slashes; OpenAPI path
 * parameters cannot), so they are hidden and described here by hand.
 */
function describeFhirProxy ({ openapiObject }: { openapiObject?: Partial<OpenApiDocument> }) {
  const paths = openapiObject?.paths
  if (paths) {
    paths['/fhir/{connectionId}/{fhirPath}'] = {
      get: {
        operationId: 'readFhir',
        summary: "Read or search the connected practice's FHIR server (also HEAD)",
        description: "Forwards to `{practice FHIR base}/{fhirPath}` with the connection's Healow access token. `fhirPath` may contain slashes and is sent unencoded: `Patient/123`, `Observation`, `Patient/123/$everything`, `DocumentReference/$docref`, `Observation/1/_history/2` (`metadata` is its own operation, without the key; `.well-known/smart-configuration` answers 404 not_found, as the gateway is not a SMART authorization server). Request headers forwarded: Accept, Accept-Language, If-None-Match, If-Modified-Since, Prefer.",
        tags: ['FHIR'],
        parameters: [CONNECTION_ID, {
          name: 'fhirPath',
          in: 'path',
          required: true,
          description: "A FHIR R4 path below the practice's base; resource type names, ids ([A-Za-z0-9-.]{1,64}), _history and a few read-only $operations",
          schema: { type: 'string', examples: ['Observation'] }
        }, SEARCH_PARAMETERS],
        responses: { 200: FHIR_OK, 304: { description: 'Not modified (If-None-Match)' }, 405: METHOD_NOT_ALLOWED, ...ERROR_RESPONSES }
      }
    }
    paths['/fhir/{connectionId}'] = {
      get: {
        operationId: 'readFhirBase',
        summary: 'Follow a Bundle paging link (answered at the practice base)',
        description: "Healow answers paging links (`?_getpages=…`) at the practice's base; the rewritten `next`/`previous` links point here.",
        tags: ['FHIR'],
        parameters: [CONNECTION_ID, SEARCH_PARAMETERS],
        responses: { 200: FHIR_OK, ...ERROR_RESPONSES }
      }
    }
    paths['/fhir/{connectionId}/{resourceType}/_search'] = {
      post: {
        operationId: 'searchFhir',
        summary: 'Search with the parameters in a form body',
        tags: ['FHIR'],
        parameters: [CONNECTION_ID, {
          name: 'resourceType', in: 'path', required: true, description: 'A FHIR R4 resource type', schema: { type: 'string', pattern: '^[A-Z][A-Za-z]+$', examples: ['Observation'] }
        }],
        requestBody: {
          required: false,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', additionalProperties: { type: 'string' }, examples: [EXAMPLE_SEARCH] } } }
        },
        responses: { 200: FHIR_OK, 405: METHOD_NOT_ALLOWED, ...ERROR_RESPONSES }
      }
    }
  }
  return { schema: { hide: true } }
}
