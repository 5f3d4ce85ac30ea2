import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { MAX_QUERY_LENGTH } from '../schemas/tenants.js'
import { DirectoryRequestError } from '../lib/directory/directory.js'
import { loadAssets } from '../lib/pages/assets.js'
import { ASSET_PATHS } from '../lib/pages/layout.js'
import { START_PAGE_RESULTS, startPage, type StartSearch } from '../lib/pages/start.js'
import { connectResultPage, type NamedPractice } from '../lib/pages/connect-result.js'
import { CONNECT_RESULT_COOKIE, decodeConnectResult } from '../lib/pages/connect-result-cookie.js'

// Pages are for people, not API clients: they stay out of the OpenAPI document.
const hide = { hide: true }

/** The start page, the connect result page, and the stylesheet, script and icon they share. */
const pages: FastifyPluginAsyncTypebox = async (app) => {
  const assets = loadAssets()
  const serveAsset = (url: string, name: string) => {
    const asset = assets.get(name)!
    app.get(url, { schema: hide }, async (request, reply) => {
      reply.header('etag', asset.etag).header('cache-control', 'public, max-age=3600').type(asset.type)
      if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
      return reply.send(asset.body)
    })
  }
  serveAsset(ASSET_PATHS.style, 'style.css')
  serveAsset(ASSET_PATHS.script, 'app.js')
  serveAsset(ASSET_PATHS.icon, 'favicon.svg')

  app.get('/', {
    schema: { ...hide, querystring: Type.Object({ q: Type.Optional(Type.String({ maxLength: MAX_QUERY_LENGTH })) }) }
  }, async (request, reply) => {
    const query = request.query.q?.trim() ?? ''
    let search: StartSearch = { kind: 'none' }
    let status = 200
    if (query) {
      try {
        const page = app.tenantDirectory.search(query, START_PAGE_RESULTS)
        search = { kind: 'results', practices: page.practices, total: page.total }
      } catch (err) {
        if (!(err instanceof DirectoryRequestError)) throw err
        status = err.statusCode
        search = { kind: 'problem', message: err.statusCode === 503 ? 'The list of practices is still loading. Try again in a minute.' : 'That search did not work. Try other words.' }
      }
    }
    return reply.sendPage(status, startPage(app.pageSite, query, search))
  })

  // Where the callback sends the browser, so the address bar no longer holds Healow's code and
  // state, and a reload shows the same result instead of replaying a spent authorization.
  app.get('/healow/connected', { schema: hide }, async (request, reply) => {
    const cookie = request.cookies[CONNECT_RESULT_COOKIE]
    const unsigned = cookie ? request.unsignCookie(cookie) : null
    const result = unsigned?.valid && unsigned.value ? decodeConnectResult(unsigned.value) : null
    let practice: NamedPractice | null = null
    if (result) {
      let name: string | undefined
      try { name = app.tenantDirectory.get(result.practiceId)?.name } catch { name = undefined }
      practice = { id: result.practiceId, name }
    }
    return reply.sendPage(200, connectResultPage(app.pageSite, result, practice, Date.now()))
  })
}
export default pages
