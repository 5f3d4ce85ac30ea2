// Search result pages with absolute paging links, in the HAPI style that eCW's
// facade answers at the practice's base: `{base}?_getpages=…&_getpagesoffset=…`.
import type { FhirResource, ResourceType } from './fhir-types.js'
import { isResourceType } from './fhir-types.js'
import type { PatientRecords } from './patient-records.js'

/** A page of a search by type, or of `Patient/$everything` (type `everything`). */
export interface SearchPage { type: ResourceType | 'everything'; patientId: string; offset: number; count: number }

export function searchBundle (
  records: PatientRecords,
  page: SearchPage,
  linkBase: string,
  selfUrl: string
): FhirResource {
  const everything = page.type === 'everything'
  const total = page.type === 'everything' ? records.everythingCount() : records.count(page.type)
  const link = [{ relation: 'self', url: selfUrl }]
  if (page.offset > 0) link.push({ relation: 'previous', url: pageUrl(linkBase, { ...page, offset: Math.max(0, page.offset - page.count) }) })
  if (page.offset + page.count < total) link.push({ relation: 'next', url: pageUrl(linkBase, { ...page, offset: page.offset + page.count }) })
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link,
    entry: (page.type === 'everything' ? records.everythingPage(page.offset, page.count) : records.page(page.type, page.offset, page.count)).map((resource) => ({
      fullUrl: `${linkBase}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: everything && resource.resourceType !== 'Patient' ? 'include' : 'match' }
    }))
  }
}

function pageUrl (linkBase: string, page: SearchPage): string {
  const query = new URLSearchParams({
    _getpages: `${page.type}.${page.patientId}`,
    _getpagesoffset: String(page.offset),
    _count: String(page.count),
    _bundletype: 'searchset'
  })
  return `${linkBase}?${query}`
}

/** The page a `_getpages` link asks for, or undefined when the link is not one of ours. */
export function parsePageQuery (query: Record<string, string | string[] | undefined>): SearchPage | undefined {
  // A repeated parameter arrives as a list: not a link the simulator wrote.
  if ([query._getpages, query._getpagesoffset, query._count].some((value) => Array.isArray(value))) return undefined
  const [type, patientId] = String(query._getpages ?? '').split('.')
  const offset = Number(query._getpagesoffset)
  const count = Number(query._count)
  if (!(type === 'everything' || isResourceType(type)) || !patientId || !Number.isInteger(offset) || offset < 0 || !Number.isInteger(count) || count < 1) return undefined
  return { type, patientId, offset, count }
}
