import { randomId, seededRandom } from './prng.js'

export interface PracticeListing { id: string; name: string }

/** Made-up practices with codes shaped like Healow's (six letters, plus the WELLMED exception). */
export const DEFAULT_PRACTICES: PracticeListing[] = [
  { id: 'JAFJCD', name: 'FHIR R4 Prodtest EMR' },
  { id: 'BHDGCD', name: 'Lakeside Family Medicine' },
  { id: 'CEFACD', name: 'Riverbend Pediatrics and Adolescent Care' },
  { id: 'DGAHCD', name: 'Summit Cardiology Associates' },
  { id: 'WELLMED', name: 'Wellmed Primary Care Network' }
]

export interface Practice {
  id: string
  name: string
  /** `{url}/fhir/r4/{code}`, no trailing slash: the value `aud` must carry. */
  fhirBase: string
  /** The FHIR id of the practice's demo patient. */
  patientId: string
  /** What the demo patient types on the login page. */
  login: string
}

export function buildPractices (listings: PracticeListing[], url: string, seed: number): Practice[] {
  return listings.map(({ id, name }) => ({
    id,
    name,
    fhirBase: `${url}/fhir/r4/${id}`,
    patientId: randomId(seededRandom(seed, id, 'patient'), 20),
    login: `demo.${id.toLowerCase()}`
  }))
}
