import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ErrorResponse, ref } from '../schemas/common.js'
import { errorHeaders, GatewayError, operationOutcome, personMessageOf, problemBody, toGatewayError } from '../lib/errors.js'
import { errorPage } from '../lib/pages/error.js'
import { REPRESENTATION_HEADERS } from '../lib/fhir/headers.js'
import { FIXED_SECURITY_HEADERS } from '../lib/security-headers.js'

/**
 * How a route's errors are written: FHIR routes answer OperationOutcome; every other route a
 * problem body, or a page when a browser asks for HTML.
 */
export type ErrorFormat = 'problem' | 'fhir'

declare module 'fastify' {
  interface FastifyContextConfig { errorFormat?: ErrorFormat }
}

/**
 * The one content negotiation of the service: a browser (whose Accept puts text/html before
 * JSON) gets a page, every other client JSON. `*` and a missing Accept mean an API client.
 */
function wantsPage (request: FastifyRequest): boolean {
  return request.accepts().type(['application/json', 'text/html']) === 'text/html'
}

function sendError (request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply {
  const error = toGatewayError(thrown)
  if (error.code === 'internal_error') request.log.error({ err: thrown }, 'request failed')
  else if (error.statusCode >= 500 && !(thrown instanceof GatewayError)) request.log.warn({ err: (thrown as Error).message }, 'upstream problem')
  // Left over from an upstream answer that failed half-way, they would describe the wrong body.
  for (const name of REPRESENTATION_HEADERS) reply.removeHeader(name)
  reply.code(error.statusCode).headers(errorHeaders(error))
  if (request.routeOptions.config.errorFormat === 'fhir') {
    return reply.type('application/fhir+json; charset=utf-8').send(operationOutcome(error))
  }
  if (wantsPage(request)) {
    const personMessage = personMessageOf(thrown)
    const { pageSite } = request.server
    const page = errorPage(pageSite, {
      statusCode: error.statusCode,
      detail: error.message,
      requestId: request.id,
      ...(personMessage ? { personMessage } : {})
    })
    return reply.sendPage(error.statusCode, page)
  }
  return reply.type('application/json; charset=utf-8').send(problemBody(error))
}

/**
 * One error handler for the whole service: every thrown value becomes a GatewayError and keeps
 * its status, code and Retry-After whichever renderer writes it. A 5xx that is not about Healow
 * never carries its internal message; the log keeps it under the request id the client sees.
 */
export default fp(async (app) => {
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error))
  app.setNotFoundHandler((request, reply) => {
    reply.headers(FIXED_SECURITY_HEADERS)
    return sendError(request, reply, new GatewayError(404, 'not_found', `No route ${request.method} ${request.url.split('?')[0]}`))
  })
  // Every route can answer 4xx/5xx through this handler, so every route documents that shape,
  // unless it declares its own (the FHIR proxy answers OperationOutcome).
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide) return
    const response = (route.schema.response ??= {}) as Record<string, unknown>
    const declares = (range: string) => Object.keys(response).some((s) => s[0] === range[0])
    if (!declares('4xx')) response['4xx'] = ref(ErrorResponse)
    if (!declares('5xx')) response['5xx'] = ref(ErrorResponse)
  })
  // Node hands CONNECT to a 'connect' listener and drops the connection when there is none: answer it
  // like any other method no route takes. Only when nothing else listens (the server is ours alone).
  if (app.server.listenerCount('connect') === 0) {
    app.server.on('connect', (_request, socket) => {
      const body = JSON.stringify({ statusCode: 405, error: 'Method Not Allowed', message: 'CONNECT is not served here: this is not a forward proxy' })
      socket.end(`HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy())
    })
  }
  // Set as the request arrives (a synchronous hook), so every answer carries it, errors included.
  app.addHook('onRequest', (request, reply, done) => { reply.header('x-request-id', request.id); done() })
}, { name: 'errors', dependencies: ['pages'] })
