import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorResponse, ref } from '../schemas/common.js'
import { FIXED_SECURITY_HEADERS } from './security-headers.js'
import { wantsPage } from './pages.js'
import { errorPage } from '../lib/pages/error.js'
import { personMessageOf } from '../lib/errors.js'

/**
 * One shape for every non-FHIR error, rendered as JSON for API clients and as a page for a
 * browser (same status, same Retry-After). A 5xx never carries the internal message (it may hold
 * upstream bodies or paths); the log keeps it under the request id the client sees.
 */
export default fp(async (app) => {
  const page = (request: FastifyRequest, reply: FastifyReply, statusCode: number, detail: string, personMessage?: string) =>
    reply.sendPage(statusCode, errorPage(app.pageSite, { statusCode, detail, requestId: request.id, ...(personMessage ? { personMessage } : {}) }))

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    const html = wantsPage(request)
    // 502-504 are ours (upstream trouble, worded for the client); any other 5xx is a bug whose text stays in the log.
    if (statusCode >= 500 && !(statusCode >= 502 && statusCode <= 504)) {
      request.log.error({ err: error }, 'request failed')
      const message = `Something went wrong on our side; quote request id ${request.id}`
      if (html) return page(request, reply, statusCode, message)
      return reply.code(statusCode).send({ statusCode, error: 'Internal Server Error', message })
    }
    if (statusCode >= 500) request.log.warn({ err: error.message }, 'upstream problem')
    const message = error.validation ? `Invalid request: ${error.message}` : error.message
    const code = error.code && !error.code.startsWith('FST_') ? error.code : undefined
    const reconnectUrl = (error as { reconnectUrl?: unknown }).reconnectUrl
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs
    if (typeof retryAfterMs === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
    if (html) return page(request, reply, statusCode, message, personMessageOf(error))
    return reply.code(statusCode).send({
      statusCode, error: code ?? STATUS_CODES[statusCode] ?? 'Error', message,
      ...(code ? { code } : {}), ...(typeof reconnectUrl === 'string' ? { reconnectUrl } : {})
    })
  })
  app.setNotFoundHandler((request, reply) => {
    const message = `No route ${request.method} ${request.url.split('?')[0]}`
    if (wantsPage(request)) return page(request, reply, 404, message)
    reply.code(404).headers(FIXED_SECURITY_HEADERS).send({ statusCode: 404, error: 'Not Found', message })
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
  // Set as the request arrives (a synchronous hook), so every answer carries it, errors included.
  app.addHook('onRequest', (request, reply, done) => { reply.header('x-request-id', request.id); done() })
}, { name: 'errors', dependencies: ['pages'] })
