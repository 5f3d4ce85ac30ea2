import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, ref } from '../schemas/common.js'
import { MereTenantList, MereTenantQuery } from '../schemas/tenants.js'

// Mere web's own server's limits: the first 100 by name when nothing is typed, else the 50 best.
const LIST_LIMIT = 100
const SEARCH_LIMIT = 50

const mereTenants: FastifyPluginAsyncTypebox = async (app) => {
  // Mere web calls both paths (DSTU2-era and R4); Healow's directory is R4 only, so both answer the same.
  for (const [url, operationId] of [['/api/v1/healow/tenants', 'mereListTenants'], ['/api/v1/healow/r4/tenants', 'mereListR4Tenants']]) {
    app.get(url, {
      schema: {
        summary: 'Find a practice, in the shape Mere web expects',
        operationId,
        tags: ['Mere compatibility'],
        security: [],
        querystring: MereTenantQuery,
        response: { 200: ref(MereTenantList), ...errorResponses(400, 503) }
      }
    }, async (request) => {
      const query = request.query.query?.trim() ?? ''
      const { practices } = app.tenantDirectory.search(query, query === '' ? LIST_LIMIT : SEARCH_LIMIT)
      return practices.map((practice) => ({
        id: practice.id,
        name: practice.name,
        url: practice.fhirBase,
        token: practice.tokenUrl,
        authorize: practice.authorizeUrl
      }))
    })
  }
}
export default mereTenants
