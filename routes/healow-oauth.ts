import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CallbackQuery, ConnectQuery } from '../schemas/connections.js'
import { HANDOFF_TTL_MS } from '../lib/tokens/connections.js'
import type { ConnectResult } from '../lib/pages/connect-result.js'
import { CONNECT_RESULT_COOKIE, CONNECT_RESULT_MAX_AGE_S, encodeConnectResult } from '../lib/pages/connect-result-cookie.js'

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
      description: 'Redirects to return_to with #handoff=… (or #error=…); without return_to, to the page /healow/connected, which shows the one-time handoff code (or why Healow refused) from a signed cookie, so a reload shows it again.',
      operationId: 'finishConnect',
      tags: ['Connections'],
      security: [],
      querystring: CallbackQuery,
      response: {
        302: { description: 'Back to return_to with #handoff=… or #error=…', type: 'null' },
        303: { description: 'To /healow/connected, the page that shows the handoff code or why Healow refused', type: 'null' }
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
    const result: ConnectResult = outcome.kind === 'connected'
      ? { kind: 'connected', practiceId: outcome.practiceId, handoff: outcome.handoff, expiresAt: Date.now() + HANDOFF_TTL_MS }
      : { kind: 'declined', practiceId: outcome.practiceId, error: outcome.error, description: outcome.description }
    const page = `${app.pageSite.base}/healow/connected`
    return reply.setCookie(CONNECT_RESULT_COOKIE, encodeConnectResult(result), {
      path: page, signed: true, httpOnly: true, sameSite: 'lax', secure: app.config.PUBLIC_URL.startsWith('https:'), maxAge: CONNECT_RESULT_MAX_AGE_S
    }).redirect(page, 303)
  })
}
export default healowOAuth
