import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorResponse, ref } from '../schemas/common.js'
import { CallbackQuery, ConnectQuery, HtmlPage } from '../schemas/connections.js'
import { connectPage } from './pages.js'

const rateLimit = { max: 30, timeWindow: '1 minute' }

const healowOAuth: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healow/connect', {
    config: { rateLimit },
    schema: {
      summary: "Start connecting a patient: redirects the browser to Healow's login for the practice",
      operationId: 'startConnect',
      tags: ['Connections'],
      security: [],
      querystring: ConnectQuery,
      response: { 302: { description: "Redirect to Healow's authorize endpoint", type: 'null' } }
    }
  }, async (request, reply) => {
    const url = await app.healowConnect.start(request, reply, request.query.tenant, request.query.return_to)
    return reply.redirect(url, 302)
  })

  app.get('/healow/callback', {
    config: { rateLimit },
    schema: {
      summary: 'Where Healow sends the browser back; stores the connection and hands it to the client',
      description: 'Redirects to return_to with #handoff=… (or #error=…), or shows a page with the one-time handoff code.',
      operationId: 'finishConnect',
      tags: ['Connections'],
      security: [],
      querystring: CallbackQuery,
      response: {
        200: { description: 'Connected; the page shows the handoff code', content: { 'text/html': { schema: HtmlPage } } },
        302: { description: 'Back to return_to with #handoff=… or #error=…', type: 'null' },
        403: { description: 'The patient declined at Healow', content: { 'text/html': { schema: HtmlPage } } },
        // Declaring 403 would otherwise keep the errors plugin from documenting the other 4xx answers.
        '4xx': ref(ErrorResponse)
      }
    }
  }, async (request, reply) => {
    const outcome = await app.healowConnect.finish(request, reply)
    const fragment = outcome.kind === 'connected'
      ? new URLSearchParams({ handoff: outcome.handoff })
      : new URLSearchParams({ error: outcome.error, error_description: outcome.description })
    if (outcome.returnTo) {
      const target = new URL(outcome.returnTo)
      target.hash = fragment.toString()
      return reply.redirect(target.toString(), 302)
    }
    return reply.code(outcome.kind === 'connected' ? 200 : 403).type('text/html; charset=utf-8').send(connectPage(outcome, app.config.PUBLIC_URL))
  })
}
export default healowOAuth
