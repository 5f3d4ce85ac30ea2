import { Type } from '@sinclair/typebox'
import { EXAMPLE, EXAMPLE_TENANT } from './examples.js'
import { MAX_QUERY_LENGTH } from './limits.js'

export { MAX_QUERY_LENGTH }

export const DEFAULT_PAGE_SIZE = 20

export const Tenant = Type.Object({
  id: Type.String({ description: 'Practice id (the id of its Endpoint and Organization in Healow\'s directory)', examples: ['JAFJCD'] }),
  name: Type.String({ description: 'Practice name', examples: ['FHIR R4 Prodtest EMR'] }),
  fhirBase: Type.String({ description: 'FHIR R4 base URL; also the OAuth `aud`', examples: ['https://fhir4.healow.com/fhir/r4/JAFJCD'] }),
  authorizeUrl: Type.String({ description: 'OAuth authorization endpoint' }),
  tokenUrl: Type.String({ description: 'OAuth token endpoint' })
}, { $id: 'Tenant', title: 'Tenant', description: 'A Healow practice', additionalProperties: false, examples: [EXAMPLE_TENANT] })

export const TenantPage = Type.Object({
  items: Type.Array(Type.Ref('Tenant')),
  total: Type.Integer({ minimum: 0, description: 'How many practices match in all' }),
  nextCursor: Type.Optional(Type.String({ description: 'Pass as `cursor` to get the next page; absent on the last page' }))
}, {
  $id: 'TenantPage',
  title: 'TenantPage',
  description: 'One page of practices',
  additionalProperties: false,
  examples: [{ items: [EXAMPLE_TENANT], total: 41, nextCursor: 'eyJhZnRlciI6IkpBRkpDRCJ9' }]
})

export const MereTenant = Type.Object({
  id: Type.String({ description: 'Practice id, Mere\'s `tenant_id`' }),
  name: Type.String(),
  url: Type.String({ description: 'FHIR R4 base URL' }),
  token: Type.String({ description: 'OAuth token endpoint' }),
  authorize: Type.String({ description: 'OAuth authorization endpoint' })
}, { $id: 'MereTenant', title: 'MereTenant', description: 'A practice in the shape Mere web expects', additionalProperties: false })

const EXAMPLE_MERE_TENANT = {
  id: EXAMPLE.practiceId,
  name: EXAMPLE.practiceName,
  url: EXAMPLE.fhirBase,
  token: EXAMPLE.tokenUrl,
  authorize: EXAMPLE.authorizeUrl
}

export const MereTenantList = Type.Array(Type.Ref('MereTenant'), { $id: 'MereTenantList', title: 'MereTenantList', examples: [[EXAMPLE_MERE_TENANT]] })

const searchText = (description: string) => Type.String({ maxLength: MAX_QUERY_LENGTH, description, examples: ['prodtest emr'] })

export const MereTenantQuery = Type.Object({
  query: Type.Optional(searchText('Words of the practice name (any order, prefixes, a typo is forgiven) or its id; empty lists the first 100 by name'))
}, { additionalProperties: false })

export const TenantSearchQuery = Type.Object({
  q: Type.Optional(searchText('Words of the practice name (prefixes, a typo is forgiven) or its id; absent lists every practice by name')),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_SIZE, description: 'Page size', examples: [20] })),
  cursor: Type.Optional(Type.String({ maxLength: 1024, description: '`nextCursor` of the previous page', examples: ['eyJhZnRlciI6IkpBRkpDRCJ9'] }))
}, { additionalProperties: false })

export const TenantParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, description: 'Practice id (case-insensitive)', examples: [EXAMPLE.practiceId] })
})

export const TenantQuery = Type.Object({
  discover: Type.Optional(Type.Boolean({ default: false, description: "Take the OAuth URLs from the practice's own SMART discovery document instead of the shared eClinicalWorks server (falls back to the shared one when discovery fails)", examples: [false] }))
})

export const tenantSchemas = [Tenant, TenantPage, MereTenant, MereTenantList]
