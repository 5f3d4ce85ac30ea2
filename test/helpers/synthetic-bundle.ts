// Directories made up on demand, in Healow's Bundle form: for tests, the benchmark when the real directory
// is absent. Deterministic for a given seed.
import { pick, seededRandom } from '../../simulator/prng.js'

export interface BundlePractice {
  id: string
  name: string
  /** The Endpoint's address; omitted to make an Endpoint without one. */
  address?: string
  /** Fields the importer does not read, added to the Organization (a postal address, a phone…). */
  organizationExtras?: Record<string, unknown>
}

export interface DirectoryBundle {
  resourceType: 'Bundle'
  type: 'collection'
  total: number
  entry: Array<{ fullUrl: string, resource: Record<string, unknown> }>
}

export const SYNTHETIC_FHIR_ORIGIN = 'https://fhir4.healow.com'

/** A Bundle with one Endpoint and one Organization per practice, in the shape Healow publishes. */
export function bundleOf (practices: readonly BundlePractice[]): DirectoryBundle {
  const entry = practices.flatMap(({ id, name, address, organizationExtras }) => [
    {
      fullUrl: `${SYNTHETIC_FHIR_ORIGIN}/Endpoint/${id}`,
      resource: {
        resourceType: 'Endpoint',
        id,
        status: 'active',
        connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' },
        name,
        managingOrganization: { reference: `Organization/${id}` },
        payloadType: [{ coding: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Patient' }] }],
        ...(address === undefined ? {} : { address })
      }
    },
    {
      fullUrl: `${SYNTHETIC_FHIR_ORIGIN}/Organization/${id}`,
      resource: {
        resourceType: 'Organization', id, active: true, name, ...organizationExtras, endpoint: [{ reference: `Endpoint/${id}` }]
      }
    }
  ])
  return { resourceType: 'Bundle', type: 'collection', total: entry.length, entry }
}

/** The same Bundle with its entries in another order (Fisher–Yates). */
export function shuffleEntries (bundle: DirectoryBundle, seed: number): DirectoryBundle {
  const random = seededRandom('shuffle', seed)
  const entry = [...bundle.entry]
  for (let i = entry.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[entry[i], entry[j]] = [entry[j], entry[i]]
  }
  return { ...bundle, entry }
}

const SURNAMES = ['Smith', 'Johnson', 'Garcia', 'Nguyen', 'Patel', 'Kim', 'Rodríguez', 'Müller', 'O\'Connor', 'Castañer',
  'Williams', 'Brown', 'Davis', 'Martinez', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Moore', 'Jackson', 'Lee',
  'Harris', 'Clark', 'Lewis', 'Walker', 'Hall', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Green', 'Baker']
const PLACES = ['Houston', 'Brooklyn', 'Queens', 'Dallas', 'Miami', 'Phoenix', 'Austin', 'Ocean', 'Garden State',
  'Mountain Ridge', 'Lakeside', 'Riverside', 'Valley', 'Coastal', 'Tri-County', 'San José', 'Bayamón', 'Ponce']
const SPECIALTIES = ['Cardiology', 'Family Medicine', 'Pediatrics', 'Internal Medicine', 'Dermatology', 'Orthopedics',
  'Gastroenterology', 'Allergy & Asthma', 'Pain Management', 'Sleep Medicine', 'Urology', 'Neurology',
  'Women\'s Health', 'Primary Care', 'Urgent Care', 'Oncology', 'Pulmonary', 'Rheumatology', 'Endocrinology']
const FORMS = ['Associates', 'Clinic', 'Center', 'Group', 'Institute', 'Partners', 'Specialists', 'Medical Group']
const SUFFIXES = ['', '', ', LLC', ' PA', ', P.C.', ' PLLC', ' Inc', ', M.D.']

/** `count` practices with realistic names and unique six-letter codes, wrapped in a Bundle. */
export function syntheticBundle (count: number, seed = 1): DirectoryBundle {
  return bundleOf(syntheticPractices(count, seed))
}

// Syllables of made-up surnames and towns: Healow's names use thousands of distinct words (most of them once),
// and the size of the search index depends on that vocabulary, not only on the number of practices.
const ONSETS = ['B', 'C', 'D', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'R', 'S', 'T', 'V', 'W', 'Z', 'Br', 'Ch', 'Gr',
  'St', 'Tr', 'Sh', 'Kr', 'Pl']
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ie', 'ou', 'ei', 'y']
const CODAS = ['', '', 'n', 'r', 'l', 's', 'k', 'ck', 'tz', 'nd', 'rt', 'sk', 'man', 'son', 'berg', 'ski', 'ville', 'ton']

function madeUpWord (random: () => number): string {
  const syllables = 1 + Math.floor(random() * 3)
  let word = ''
  for (let i = 0; i < syllables; i++) {
    const onset = pick(random, ONSETS)
    word += (i === 0 ? onset : onset.toLowerCase()) + pick(random, VOWELS)
  }
  return word + pick(random, CODAS)
}

/** Names from a few lists (`small`, as most tests want) or with made-up surnames and towns (`large`, as Healow's). */
type Vocabulary = 'small' | 'large'

function syntheticPractices (count: number, seed: number, vocabulary: Vocabulary = 'small'): BundlePractice[] {
  const random = seededRandom('synthetic directory', seed)
  const words = seededRandom('synthetic directory words', seed)
  const surname = (): string => vocabulary === 'large' && words() < 0.8 ? madeUpWord(words) : pick(random, SURNAMES)
  const place = (): string => vocabulary === 'large' && words() < 0.5 ? madeUpWord(words) : pick(random, PLACES)
  const ids = new Set<string>()
  const practices: BundlePractice[] = []
  while (practices.length < count) {
    const id = Array.from({ length: 6 }, () => String.fromCharCode(65 + Math.floor(random() * 10))).join('')
    if (ids.has(id)) continue
    ids.add(id)
    const shape = random()
    const core = shape < 0.35
      ? `${place()} ${pick(random, SPECIALTIES)} ${pick(random, FORMS)}`
      : shape < 0.7
        ? `${surname()} ${pick(random, SPECIALTIES)}`
        : `${String.fromCharCode(65 + Math.floor(random() * 26))}. ${surname()}, MD`
    practices.push({ id, name: `${core}${pick(random, SUFFIXES)}`, address: `${SYNTHETIC_FHIR_ORIGIN}/fhir/r4/${id}` })
  }
  return practices
}

/** The size of Healow's published list as reported in August 2026. */
export const HEALOW_2026_PRACTICES = 17_291

const STREETS = ['Main St', 'Oak Ave', 'Park Blvd', 'Medical Center Dr', 'Broadway', 'Elm St', 'Route 9', 'Highland Ave']
const STATES = ['TX', 'NY', 'FL', 'AZ', 'CA', 'NJ', 'IL', 'PR', 'GA', 'OH', 'PA', 'MI']

/** How many entries of each kind `directoryWithBadEntries` adds; each is skipped for the reason it is named after. */
export const BAD_ENTRIES_PER_REASON = 3

/**
 * A directory the size of Healow's current list (about 15 MB of JSON): `count` practices whose Organizations
 * carry a postal address and a phone as real ones do, plus BAD_ENTRIES_PER_REASON entries for
 * every reason the importer skips one. The names draw on a vocabulary of thousands of words, as Healow's do.
 */
export function healowSizedBundle (count = HEALOW_2026_PRACTICES, seed = 1): DirectoryBundle {
  const random = seededRandom('synthetic directory extras', seed)
  const practices = syntheticPractices(count, seed, 'large').map((practice) => ({
    ...practice,
    organizationExtras: {
      telecom: [{ system: 'phone', value: `(${randomDigits(random, 3)}) ${randomDigits(random, 3)}-${randomDigits(random, 4)}`, use: 'work' }],
      address: [{
        use: 'work',
        line: [`${1 + Math.floor(random() * 9999)} ${pick(random, STREETS)}`, ...(random() < 0.3 ? [`Suite ${100 + Math.floor(random() * 900)}`] : [])],
        city: pick(random, PLACES),
        state: pick(random, STATES),
        postalCode: randomDigits(random, 5),
        country: 'US'
      }]
    }
  }))
  const bundle = bundleOf(practices)
  const bad = (n: number): string => `BAD${String.fromCharCode(65 + n)}`
  for (let n = 0; n < BAD_ENTRIES_PER_REASON; n++) {
    const twin = practices[n * 7]
    bundle.entry.push(
      { fullUrl: 'urn:uuid:not-a-resource', resource: 'not an object' as unknown as Record<string, unknown> }, // not a resource
      { fullUrl: `${SYNTHETIC_FHIR_ORIGIN}/Location/${bad(n)}`, resource: { resourceType: 'Location', id: bad(n) } }, // other resource type
      { fullUrl: `${SYNTHETIC_FHIR_ORIGIN}/Organization/`, resource: { resourceType: 'Organization', name: 'No Id Clinic' } }, // no id
      ...bundleOf([
        { id: `${bad(n)}NOADDR`, name: 'No Address Clinic' }, // no address
        { id: `${bad(n)}NOURL`, name: 'Not A URL Clinic', address: 'fhir4 healow com' }, // not a URL
        { id: `${bad(n)}HTTP`, name: 'Plain HTTP Clinic', address: `http://fhir4.healow.com/fhir/r4/${bad(n)}HTTP` }, // not https
        { id: `${bad(n)}PATH`, name: 'Wrong Path Clinic', address: `${SYNTHETIC_FHIR_ORIGIN}/fhir/dstu2/${bad(n)}PATH` } // not a FHIR base
      ]).entry,
      ...bundleOf([{ id: `${bad(n)}OFF`, name: 'Switched Off Clinic', address: `${SYNTHETIC_FHIR_ORIGIN}/fhir/r4/${bad(n)}OFF` }]).entry
        .map((entry) => entry.resource.resourceType === 'Endpoint' ? { ...entry, resource: { ...entry.resource, status: 'off' } } : entry), // endpoint not active
      bundleOf([{ id: `${bad(n)}ORG`, name: 'Organization Only Clinic' }]).entry[1], // no endpoint
      ...bundleOf([{ ...twin, name: `${twin.name} (old)`, organizationExtras: undefined }]).entry // duplicate id, twice
    )
  }
  return shuffleEntries({ ...bundle, total: bundle.entry.length }, seed)
}

function randomDigits (random: () => number, length: number): string {
  return Array.from({ length }, () => Math.floor(random() * 10)).join('')
}
