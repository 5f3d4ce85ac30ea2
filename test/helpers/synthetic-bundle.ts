// Directories made up on demand, in Healow's Bundle form: for tests, the benchmark when the real directory
// is absent. Deterministic for a given seed.
import { pick, seededRandom } from '../../simulator/prng.js'

export interface BundlePractice {
  id: string
  name: string
  /** The Endpoint's address; omitted to make an Endpoint without one. */
  address?: string
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
  const entry = practices.flatMap(({ id, name, address }) => [
    {
      fullUrl: `${SYNTHETIC_FHIR_ORIGIN}/Endpoint/${id}`,
      resource: {
        resourceType: 'Endpoint',
        id,
        status: 'active',
        connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' },
        name,
        managingOrganization: { reference: `Organization/${id}` },
        ...(address === undefined ? {} : { address })
      }
    },
    {
      fullUrl: `${SYNTHETIC_FHIR_ORIGIN}/Organization/${id}`,
      resource: { resourceType: 'Organization', id, active: true, name, endpoint: [{ reference: `Endpoint/${id}` }] }
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
  const random = seededRandom('synthetic directory', seed)
  const ids = new Set<string>()
  const practices: BundlePractice[] = []
  while (practices.length < count) {
    const id = Array.from({ length: 6 }, () => String.fromCharCode(65 + Math.floor(random() * 10))).join('')
    if (ids.has(id)) continue
    ids.add(id)
    const shape = random()
    const core = shape < 0.35
      ? `${pick(random, PLACES)} ${pick(random, SPECIALTIES)} ${pick(random, FORMS)}`
      : shape < 0.7
        ? `${pick(random, SURNAMES)} ${pick(random, SPECIALTIES)}`
        : `${String.fromCharCode(65 + Math.floor(random() * 26))}. ${pick(random, SURNAMES)}, MD`
    practices.push({ id, name: `${core}${pick(random, SUFFIXES)}`, address: `${SYNTHETIC_FHIR_ORIGIN}/fhir/r4/${id}` })
  }
  return bundleOf(practices)
}
