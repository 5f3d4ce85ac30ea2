// The records of one practice's demo patient. Every resource is a pure function of
// (seed, practice, type, index), so a page is built on demand: a knob of tens of
// thousands of resources costs no memory, and the same seed always gives the same data.
import { buildResource } from './fhir-resources.js'
import type { FhirResource, ResourceType } from './fhir-types.js'
import type { Practice } from './practices.js'
import { randomId, randomInt, seededRandom, type Random } from './prng.js'

/** How many of each type a patient has, as a share of `resourcesPerType` (Observation is the knob itself). */
const SHARE: Record<ResourceType, number> = {
  Observation: 1, Encounter: 0.5, DiagnosticReport: 0.3, Condition: 0.3, Immunization: 0.3,
  MedicationRequest: 0.3, DocumentReference: 0.2, Procedure: 0.2, Provenance: 0.2, Medication: 0.1,
  MedicationAdministration: 0.1, AllergyIntolerance: 0.1, CarePlan: 0.1, Goal: 0.1, Practitioner: 0.1,
  PractitionerRole: 0.1, Location: 0.1, CareTeam: 0.05, Device: 0.05,
  // One each, whatever the knob.
  Patient: 0, Organization: 0,
  // A few attachments of a few MB each, shared by the DocumentReferences.
  Binary: 0
}
const MAX_BINARIES = 3
const MB = 1024 * 1024
const EPOCH = Date.UTC(2016, 0, 1)
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000

export class PatientRecords {
  constructor (
    private readonly practice: Practice,
    private readonly seed: number,
    private readonly resourcesPerType: number
  ) {}

  count (type: ResourceType): number {
    if (type === 'Patient' || type === 'Organization') return 1
    if (type === 'Binary') return Math.min(MAX_BINARIES, this.count('DocumentReference'))
    return Math.max(1, Math.round(this.resourcesPerType * SHARE[type]))
  }

  page (type: ResourceType, offset: number, count: number): FhirResource[] {
    const end = Math.min(this.count(type), offset + count)
    const resources: FhirResource[] = []
    for (let index = offset; index < end; index++) resources.push(this.resource(type, index))
    return resources
  }

  patientName (): string {
    const [name] = this.resource('Patient', 0).name as Array<{ given: string[]; family: string }>
    return `${name.given.join(' ')} ${name.family}`
  }

  read (type: ResourceType, id: string): FhirResource | undefined {
    const index = this.indexOf(type, id)
    return index === undefined ? undefined : this.resource(type, index)
  }

  private resource (type: ResourceType, index: number): FhirResource {
    const random = this.randomFor(type, index)
    const resource = buildResource(type, {
      random,
      id: this.idOf(type, index),
      index,
      patient: { reference: `Patient/${this.practice.patientId}` },
      ref: (target, n) => ({ reference: `${target}/${this.idOf(target, n % this.count(target))}` }),
      // Newest first, as Healow lists them.
      when: new Date(EPOCH + TEN_YEARS_MS * (1 - (index + random()) / (this.count(type) + 1))).toISOString(),
      practiceName: this.practice.name,
      patientId: this.practice.patientId
    })
    if (type === 'Binary') resource.data = this.binaryBytes(index).toString('base64')
    return resource
  }

  private binaryBytes (index: number): Buffer {
    const random = this.randomFor('Binary', index)
    const bytes = Buffer.alloc(randomInt(random, 1 * MB, 3 * MB))
    bytes.write('%PDF-1.4\n')
    for (let i = 9; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256)
    return bytes
  }

  private randomFor (type: ResourceType, index: number): Random {
    return seededRandom(this.seed, this.practice.id, type, index)
  }

  private idPrefix (type: ResourceType): string {
    return randomId(seededRandom(this.seed, this.practice.id, type, 'id'), 8)
  }

  private idOf (type: ResourceType, index: number): string {
    if (type === 'Patient') return this.practice.patientId
    if (type === 'Organization') return this.practice.id
    return `${this.idPrefix(type)}-${index}`
  }

  private indexOf (type: ResourceType, id: string): number | undefined {
    if (type === 'Patient' || type === 'Organization') return id === this.idOf(type, 0) ? 0 : undefined
    const prefix = `${this.idPrefix(type)}-`
    if (!id.startsWith(prefix)) return undefined
    const index = Number(id.slice(prefix.length))
    return Number.isInteger(index) && index >= 0 && index < this.count(type) ? index : undefined
  }
}
