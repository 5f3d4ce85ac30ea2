import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError } from 'fastify'
import { ErrorResponse, ref } from '../schemas/common.js'
import { FIXED_SECURITY_HEADERS } from './security-headers.js'

/**
 * One shape for every non-FHIR error. A 5xx never carries the internal message (it may hold
 * upstream bodies or paths); the log keeps it under the request id the client sees.
 */
export default fp(async (app) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    // 502-504 are ours (upstream trouble, worded for the client); any other 5xx is a bug whose text stays in the log.
    if (statusCode >= 500 && !(statusCode >= 502 && statusCode <= 504)) {
      request.log.error({ err: error }, 'request failed')
      return reply.code(statusCode).send({ statusCode, error: 'Internal Server Error', message: `Something went wrong on our side; quote request id ${request.id}` })
    }
    if (statusCode >= 500) request.log.warn({ err: error.message }, 'upstream problem')
    const message = error.validation ? `Invalid request: ${error.message}` : error.message
    const code = error.code && !error.code.startsWith('FST_') ? error.code : undefined
    const reconnectUrl = (error as { reconnectUrl?: unknown }).reconnectUrl
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs
    if (typeof retryAfterMs === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
    return reply.code(statusCode).send({
      statusCode, error: code ?? STATUS_CODES[statusCode] ?? 'Error', message,
      ...(code ? { code } : {}), ...(typeof reconnectUrl === 'string' ? { reconnectUrl } : {})
    })
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).headers(FIXED_SECURITY_HEADERS).send({ statusCode: 404, error: 'Not Found', message: `No route ${request.method} ${request.url.split('?')[0]}` })
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
}, { name: 'errors' })
