import fp from 'fastify-plugin'
import accepts from '@fastify/accepts'
import type { FastifyReply } from 'fastify'
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

export default fp(async (app) => {
  await app.register(accepts)
  app.decorate('pageSite', { title: app.config.SITE_TITLE, base: new URL(app.config.PUBLIC_URL).pathname.replace(/\/+$/, '') })
  app.decorateReply('sendPage', function (this: FastifyReply, statusCode: number, page: string) {
    // Pages may show a handoff code or the operator's list: no cache may keep them.
    return this.code(statusCode).headers(PAGE_SECURITY_HEADERS).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page)
  })
}, { name: 'pages', dependencies: ['config'] })
