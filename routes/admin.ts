import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ref } from '../schemas/common.js'
import { AdminConnectionPage, AdminConnectionParams, AdminConnectionsQuery, AdminFormBody, AdminLoginBody, AdminPageQuery } from '../schemas/admin.js'
import { ADMIN_SESSION_COOKIE, ADMIN_SESSION_TTL_MS, type AdminSession } from '../lib/admin/session.js'
import type { OperatorConnection } from '../lib/admin/connections.js'
import { RequestState } from '../lib/request-state.js'
import { adminConnectionsPage, adminDeletePage, adminLoginPage, adminReconnectPage } from '../lib/pages/admin.js'
import { requestError } from '../lib/errors.js'

const hide = { hide: true }
const FORM_BODY_LIMIT = 4096

/**
 * The operator view (pages behind a login form) and its JSON twin for scripts
 * (GET /admin/connections with the token as a bearer). Registered only when ADMIN_TOKEN is set.
 */
const admin: FastifyPluginAsyncTypebox = async (app) => {
  const site = app.pageSite
  const cookiePath = `${site.base}/admin`
  const secure = app.config.PUBLIC_URL.startsWith('https:')
  const publicOrigin = new URL(app.config.PUBLIC_URL).origin

  // Nothing the operator sees may be cached, by the browser or by anything in between.
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))))

  // Set by the `session` hook before any page handler runs.
  const sessions = new RequestState<AdminSession>('the operator session')
  const csrfOf = (request: FastifyRequest) => app.admin.sessions.csrfToken(sessions.get(request))
  const signIn = (
    reply: FastifyReply,
    status: number,
    problem?: string
  ) => reply.sendPage(status, adminLoginPage(site, problem))

  /** Pages: a signed, unexpired session cookie, or the sign-in form with 401. */
  const session = async (request: FastifyRequest, reply: FastifyReply) => {
    const cookie = request.cookies[ADMIN_SESSION_COOKIE]
    const unsigned = cookie ? request.unsignCookie(cookie) : null
    const found = unsigned?.valid && unsigned.value ? app.admin.sessions.read(unsigned.value, Date.now()) : null
    if (!found) return signIn(reply, 401)
    sessions.set(request, found)
  }
  /**
   * Forms: the session's CSRF token, and our own origin where the browser names one (the pages'
   * no-referrer policy makes it send `Origin: null`, so Sec-Fetch-Site speaks for it there).
   * SameSite=Strict already keeps the cookie off other sites' requests; this holds even where it does not.
   */
  const fromElsewhere = (request: FastifyRequest) => {
    const { origin, 'sec-fetch-site': fetchSite } = request.headers
    return (origin !== undefined && origin !== 'null' && origin !== publicOrigin) || (fetchSite !== undefined && fetchSite !== 'same-origin')
  }
  const form = async (request: FastifyRequest, reply: FastifyReply) => {
    await session(request, reply)
    if (reply.sent) return
    if (fromElsewhere(request) || !app.admin.sessions.checkCsrf(
      sessions.get(request),
      (request.body as { csrf?: unknown } | undefined)?.csrf
    )) {
      throw requestError(403, 'The form is out of date or came from another site (CSRF check failed); reload the page and try again')
    }
  }
  const connection = async (id: string): Promise<OperatorConnection> => {
    const found = await app.admin.get(id)
    if (!found) throw requestError(404, 'No such connection: it may have been deleted already')
    return found
  }

  app.get('/admin/connections', {
    config: { rateLimit: { max: 60, timeWindow: '1 minute' } },
    schema: {
      summary: 'Every connection with its practice, patient, refresh and sync status, newest first (operators)',
      description: 'For scripts: the list the operator view shows. Needs ADMIN_TOKEN as a bearer token; absent (404) when ADMIN_TOKEN is not set. Paged: follow `nextCursor`.',
      operationId: 'listAdminConnections',
      tags: ['Operator'],
      security: [{ adminToken: [] }],
      querystring: AdminConnectionsQuery,
      response: { 200: ref(AdminConnectionPage) }
    }
  }, async (request) => {
    if (!app.admin.hasBearerToken(request)) throw requestError(401, 'Send ADMIN_TOKEN as "Authorization: Bearer <token>"')
    return await app.admin.list(request.query.cursor, request.query.limit ?? 50)
  })

  app.get('/admin', {
    schema: { ...hide, querystring: AdminPageQuery },
    preHandler: session
  }, async (request, reply) => {
    const page = await app.admin.list(request.query.cursor, 50)
    const { deleted, sync } = request.query
    const notice = deleted
      ? 'The connection was deleted.'
      : sync && (sync === 'started' ? 'Sync started.' : 'A sync is already running.')
    return reply.sendPage(200, adminConnectionsPage(site, page, csrfOf(request), notice))
  })

  app.post('/admin/login', {
    // Each try costs a guess at a token of 32 characters or more: slow guessing down further.
    config: { rateLimit: { max: 5, timeWindow: '1 minute' } },
    schema: { ...hide, body: AdminLoginBody }
  }, async (request, reply) => {
    if (!app.admin.isToken(request.body.token)) {
      request.log.warn('operator sign-in with a wrong token')
      return signIn(reply, 401, 'That token is not right.')
    }
    const { cookie } = app.admin.sessions.start(Date.now())
    return reply.setCookie(ADMIN_SESSION_COOKIE, cookie, {
      path: cookiePath, signed: true, httpOnly: true, sameSite: 'strict', secure, maxAge: ADMIN_SESSION_TTL_MS / 1000
    }).redirect(`${site.base}/admin`, 303)
  })

  app.post('/admin/logout', { schema: { ...hide, body: AdminFormBody }, preHandler: form }, async (_request, reply) =>
    reply.clearCookie(ADMIN_SESSION_COOKIE, { path: cookiePath }).redirect(`${site.base}/admin`, 303))

  app.get('/admin/connections/:id/reconnect', { schema: { ...hide, params: AdminConnectionParams }, preHandler: session }, async (request, reply) =>
    reply.sendPage(200, adminReconnectPage(site, await connection(request.params.id), csrfOf(request))))

  app.get('/admin/connections/:id/delete', { schema: { ...hide, params: AdminConnectionParams }, preHandler: session }, async (request, reply) =>
    reply.sendPage(200, adminDeletePage(site, await connection(request.params.id), csrfOf(request))))

  app.post('/admin/connections/:id/delete', { schema: { ...hide, params: AdminConnectionParams, body: AdminFormBody }, preHandler: form }, async (request, reply) => {
    await connection(request.params.id)
    await app.admin.remove(request.params.id)
    request.log.info({ connectionId: request.params.id }, 'operator deleted a connection')
    return reply.redirect(`${site.base}/admin?deleted=1`, 303)
  })

  app.post('/admin/connections/:id/sync', {
    schema: { ...hide, params: AdminConnectionParams, body: AdminFormBody },
    preHandler: form
  }, async (request, reply) => {
    await connection(request.params.id)
    const started = await app.admin.syncNow(request.params.id)
    request.log.info({ connectionId: request.params.id, started }, 'operator asked for a sync')
    return reply.redirect(`${site.base}/admin?sync=${started ? 'started' : 'running'}`, 303)
  })
}
export default admin
