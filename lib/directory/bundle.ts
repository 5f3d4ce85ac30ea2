import { runSlices } from './slices.js'
import { compareStrings, sortInSlices } from './sorted.js'
import { isSecureEnough, type AddressPolicy, type OAuthEndpoints, type Practice } from './practice.js'

export const SKIP_REASONS = [
  'not a resource',
  'other resource type',
  'no id',
  'no address',
  'not a URL',
  'not https',
  'not a FHIR base',
  'endpoint not active',
  'no endpoint',
  'duplicate id'
] as const
export type SkipReason = typeof SKIP_REASONS[number]
export type SkipCounts = Partial<Record<SkipReason, number>>

export interface ParsedDirectory {
  /** Sorted by id, so that the same entries in any order give the same array. */
  practices: Practice[]
  /** Entries left out, by reason. An Organization whose Endpoint was skipped is not counted twice. */
  skipped: SkipCounts
  entryCount: number
}

/** The document is not a FHIR Bundle at all: nothing in it can be trusted, so the whole load fails. */
export class DirectoryFormatError extends Error {
  override name = 'DirectoryFormatError'
}

type FhirBaseResult = { fhirBase: string } | { reason: SkipReason }

// A practice's FHIR base is `{origin}/fhir/r4/{practiceCode}`: nothing before, nothing after (one trailing
// slash is tolerated and dropped, because the base doubles as the OAuth `aud` which must not end in one).
const FHIR_BASE_PATH = /^\/fhir\/r4\/([A-Za-z0-9]{1,64})\/?$/

export function parseFhirBase (address: unknown, policy: AddressPolicy = {}): FhirBaseResult {
  if (typeof address !== 'string' || address.trim() === '') return { reason: 'no address' }
  const trimmed = address.trim()
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    return { reason: 'not a URL' }
  }
  if (!isSecureEnough(url, policy)) return { reason: 'not https' }
  const path = FHIR_BASE_PATH.exec(url.pathname)
  if (path === null || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return { reason: 'not a FHIR base' }
  }
  const fhirBase = `${url.origin}/fhir/r4/${path[1]}`
  // The address as written is usually the base already: keeping that one flat string costs less than the
  // pieces the base was just put together from, and a directory keeps thousands of them.
  return { fhirBase: fhirBase === trimmed ? trimmed : fhirBase }
}

// Practices between two chances to pause (see runSlicesAsync): 2,000 took 3.5-6 ms here, 500 about 1 ms.
const IDS_PER_STEP = 500

/** The first of an id's Endpoints by content (FHIR base, then name), and how many there were. */
interface EndpointChoice { fhirBase: string, name: string, count: number }
/** The first of an id's non-empty Organization names, and how many Organizations there were. */
interface NameChoice { name: string, count: number }

// Duplicates are resolved by content, not by position, so the entry order never matters; only the winner and
// a count are kept per id, not every duplicate.
function isBetterEndpoint (fhirBase: string, name: string, than: EndpointChoice): boolean {
  return (compareStrings(fhirBase, than.fhirBase) || compareStrings(name, than.name)) < 0
}

function cleanName (name: unknown): string {
  return typeof name === 'string' ? name.replace(/\s+/g, ' ').trim() : ''
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Turns the entries of Healow's directory Bundle (Endpoint + Organization per practice, same id, any order) into
 * practices, one entry at a time: the entries may come from a parsed document or straight from the bytes as
 * they arrive. Bad entries are skipped and counted.
 */
export class DirectoryCollector {
  private readonly skipped: SkipCounts = {}
  private readonly endpoints = new Map<string, EndpointChoice>()
  private readonly organizationNames = new Map<string, NameChoice>()
  private readonly endpointsSkipped = new Set<string>()
  private entryCount = 0

  constructor (private readonly oauth: OAuthEndpoints, private readonly policy: AddressPolicy = {}) {}

  add (entry: unknown): void {
    this.entryCount++
    const resource: unknown = isObject(entry) ? entry.resource : undefined
    if (!isObject(resource)) return this.skip('not a resource')
    if (resource.resourceType !== 'Endpoint' && resource.resourceType !== 'Organization') {
      return this.skip('other resource type')
    }
    const id = typeof resource.id === 'string' ? resource.id.trim() : ''
    if (id === '') return this.skip('no id')

    if (resource.resourceType === 'Organization') {
      const name = cleanName(resource.name)
      const known = this.organizationNames.get(id)
      if (known === undefined) this.organizationNames.set(id, { name, count: 1 })
      else {
        known.count++
        if (name !== '' && (known.name === '' || name < known.name)) known.name = name
      }
      return
    }
    if (resource.status !== undefined && resource.status !== 'active') {
      this.skip('endpoint not active'); this.endpointsSkipped.add(id); return
    }
    const base = parseFhirBase(resource.address, this.policy)
    if ('reason' in base) { this.skip(base.reason); this.endpointsSkipped.add(id); return }
    const name = cleanName(resource.name)
    const known = this.endpoints.get(id)
    if (known === undefined) this.endpoints.set(id, { fhirBase: base.fhirBase, name, count: 1 })
    else {
      known.count++
      if (isBetterEndpoint(base.fhirBase, name, known)) { known.fhirBase = base.fhirBase; known.name = name }
    }
  }

  /** The practices of every entry added, and what was skipped. */
  finish (): ParsedDirectory {
    return runSlices(this.finishInSlices())
  }

  /** finish(), in slices that each end with a `yield` (see runSlicesAsync). */
  * finishInSlices (): Generator<void, ParsedDirectory> {
    const { endpoints, organizationNames, oauth } = this
    const practices: Practice[] = []
    for (const [id, endpoint] of endpoints) {
      if (practices.length % IDS_PER_STEP === IDS_PER_STEP - 1) yield
      for (let extra = 1; extra < endpoint.count; extra++) this.skip('duplicate id')
      practices.push({
        id,
        name: organizationNames.get(id)?.name || endpoint.name || id,
        fhirBase: endpoint.fhirBase,
        authorizeUrl: oauth.authorizeUrl,
        tokenUrl: oauth.tokenUrl
      })
    }
    for (const [id, { count }] of organizationNames) {
      if (!endpoints.has(id)) {
        if (!this.endpointsSkipped.has(id)) for (let each = 0; each < count; each++) this.skip('no endpoint')
      } else {
        for (let extra = 1; extra < count; extra++) this.skip('duplicate id')
      }
    }
    yield
    yield * sortInSlices(practices, (a, b) => compareStrings(a.id, b.id))
    return { practices, skipped: this.skipped, entryCount: this.entryCount }
  }

  private skip (reason: SkipReason): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1
  }
}

/** The message of the DirectoryFormatError for a document that is JSON but not a Bundle. */
export const NOT_A_BUNDLE = 'the directory is not a FHIR Bundle'
/** The message of the DirectoryFormatError for a Bundle whose entry is neither an array nor absent. */
export const NO_ENTRY_ARRAY = 'the directory Bundle has no entry array'

/** The practices of a directory document parsed with JSON.parse; only a document that is not a Bundle throws. */
export function parseDirectoryBundle (
  bundle: unknown,
  oauth: OAuthEndpoints,
  policy: AddressPolicy = {}
): ParsedDirectory {
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') throw new DirectoryFormatError(NOT_A_BUNDLE)
  const entries = bundle.entry ?? []
  if (!Array.isArray(entries)) throw new DirectoryFormatError(NO_ENTRY_ARRAY)
  const collector = new DirectoryCollector(oauth, policy)
  for (const entry of entries) collector.add(entry)
  return collector.finish()
}
