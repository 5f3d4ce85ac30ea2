import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, ref } from '../schemas/common.js'
import { Tenant, TenantPage, TenantParams, TenantQuery, TenantSearchQuery, DEFAULT_PAGE_SIZE } from '../schemas/tenants.js'
import { requestError } from '../lib/errors.js'

const tenants: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/tenants', {
    schema: {
      summary: 'Search the practice directory, or list it by name',
      description: 'With `q`, the best matches first; without, every practice by name. Paged: follow `nextCursor`.',
      operationId: 'listTenants',
      tags: ['Tenants'],
      security: [],
      querystring: TenantSearchQuery,
      response: { 200: ref(TenantPage), ...errorResponses(400, 503) }
    }
  }, async (request) => {
    // Ajv fills the default, but the optional type cannot know it.
    const { q, limit = DEFAULT_PAGE_SIZE, cursor } = request.query
    const page = q === undefined
      ? app.tenantDirectory.list(cursor, limit)
      : app.tenantDirectory.search(q, limit, cursor)
    return { items: page.practices, total: page.total, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
  })

  app.get('/tenants/:id', {
    schema: {
      summary: 'One practice by id',
      operationId: 'getTenant',
      tags: ['Tenants'],
      security: [],
      params: TenantParams,
      querystring: TenantQuery,
      response: { 200: ref(Tenant), ...errorResponses(404, 503) }
    }
  }, async (request, reply) => {
    const practice = app.tenantDirectory.get(request.params.id)
    if (practice === undefined) {
      throw requestError(404, `No practice with id "${request.params.id}" in the Healow directory; find ids with GET /tenants?q=`)
    }
    if (!request.query.discover) return practice
    return { ...practice, ...await app.tenantDirectory.oauthEndpoints(practice, { discover: true }) }
  })
}
export default tenants
