import fp from 'fastify-plugin'
import accepts from '@fastify/accepts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { PageSite } from '../lib/pages/layout.js'
import { PAGE_SECURITY_HEADERS } from '../lib/security-headers.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** SITE_TITLE and the path every link starts with. */
    pageSite: PageSite
  }
  interface FastifyReply {
    /** Answers a rendered page: HTML, never cached, under the pages' CSP. */
    sendPage (statusCode: number, page: string): FastifyReply
  }
}

/**
 * The one content negotiation of the service: a browser (whose Accept puts text/html before
 * JSON) gets a page, every other client JSON. `*` and a missing Accept mean an API client.
 */
export function wantsPage (request: FastifyRequest): boolean {
  return request.accepts().type(['application/json', 'text/html']) === 'text/html'
}

export default fp(async (app) => {
  await app.register(accepts)
  app.decorate('pageSite', { title: app.config.SITE_TITLE, base: new URL(app.config.PUBLIC_URL).pathname.replace(/\/+$/, '') })
  app.decorateReply('sendPage', function (this: FastifyReply, statusCode: number, page: string) {
    // Pages may show a handoff code or the operator's list: no cache may keep them.
    return this.code(statusCode).headers(PAGE_SECURITY_HEADERS).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page)
  })
}, { name: 'pages', dependencies: ['config'] })
