// Builders of one synthetic resource of each type. Codes are real LOINC / SNOMED /
// CVX / RxNorm values so that clients exercise their code displays.
import type { FhirResource, ResourceType } from './fhir-types.js'
import { pick, randomInt, type Random } from './prng.js'

export interface BuildContext {
  random: Random
  id: string
  index: number
  /** `Patient/{id}` */
  patient: { reference: string }
  /** A reference to the `n`-th resource of a type (wrapped to what exists). */
  ref: (type: ResourceType, n: number) => { reference: string }
  /** An ISO date-time, deterministic for this resource. */
  when: string
  practiceName: string
  patientId: string
}

type Builder = (c: BuildContext) => Omit<FhirResource, 'resourceType' | 'id'>

const coded = (system: string, code: string, display: string) => ({
  coding: [{ system, code, display }],
  text: display
})
const LOINC = 'http://loinc.org'
const SNOMED = 'http://snomed.info/sct'
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm'
const day = (c: BuildContext) => c.when.slice(0, 10)

const VITALS = [
  ['8867-4', 'Heart rate', 'beats/minute', '/min', 55, 100],
  ['8310-5', 'Body temperature', 'Cel', 'Cel', 36, 38],
  ['29463-7', 'Body weight', 'kg', 'kg', 50, 110],
  ['8302-2', 'Body height', 'cm', 'cm', 150, 195],
  ['2339-0', 'Glucose [Mass/volume] in Blood', 'mg/dL', 'mg/dL', 70, 180],
  ['4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '%', '%', 4, 9]
] as const
const CONDITIONS = [
  ['38341003', 'Hypertensive disorder'], ['44054006', 'Diabetes mellitus type 2'],
  ['195967001', 'Asthma'], ['55822004', 'Hyperlipidemia'], ['35489007', 'Depressive disorder']
] as const
const ALLERGENS = [['91936005', 'Allergy to penicillin'], ['300913006', 'Shellfish allergy'], ['418689008', 'Allergy to grass pollen']] as const
const VACCINES = [['140', 'Influenza, seasonal, injectable'], ['208', 'COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose'], ['115', 'Tdap']] as const
const DRUGS = [['197361', 'Amlodipine 5 MG Oral Tablet'], ['860975', 'Metformin hydrochloride 500 MG Oral Tablet'], ['617312', 'Atorvastatin 10 MG Oral Tablet']] as const
const PROCEDURES = [['73761001', 'Colonoscopy'], ['274025005', 'Colonic polypectomy'], ['80146002', 'Appendectomy']] as const
const GIVEN = ['Ana', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonah']
const FAMILY = ['Alvarez', 'Brooks', 'Chen', 'Dubois', 'Eriksen', 'Fischer', 'Gupta', 'Haddad', 'Ivanova', 'Jensen']

const name = (random: Random) => [{ use: 'official', family: pick(random, FAMILY), given: [pick(random, GIVEN)] }]

const BUILDERS: Record<ResourceType, Builder> = {
  Patient: (c) => ({
    identifier: [{ system: 'urn:oid:1.2.840.114350', value: c.patientId }],
    active: true,
    name: name(c.random),
    gender: pick(c.random, ['female', 'male']),
    birthDate: `19${randomInt(c.random, 40, 99)}-0${randomInt(c.random, 1, 9)}-1${randomInt(c.random, 0, 9)}`,
    telecom: [{ system: 'email', value: `${c.patientId.toLowerCase()}@example.org` }],
    managingOrganization: c.ref('Organization', 0)
  }),
  Observation: (c) => {
    const [code, display, unit, ucum, min, max] = pick(c.random, VITALS)
    return {
      status: 'final',
      category: [coded('http://terminology.hl7.org/CodeSystem/observation-category', code.startsWith('2') || code.startsWith('4') ? 'laboratory' : 'vital-signs', 'Observation')],
      code: coded(LOINC, code, display),
      subject: c.patient,
      encounter: c.ref('Encounter', c.index),
      effectiveDateTime: c.when,
      valueQuantity: { value: Math.round((min + c.random() * (max - min)) * 10) / 10, unit, system: 'http://unitsofmeasure.org', code: ucum }
    }
  },
  Condition: (c) => {
    const [code, display] = pick(c.random, CONDITIONS)
    return {
      clinicalStatus: coded('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active', 'Active'),
      category: [coded('http://terminology.hl7.org/CodeSystem/condition-category', 'problem-list-item', 'Problem List Item')],
      code: coded(SNOMED, code, display),
      subject: c.patient,
      onsetDateTime: c.when,
      recordedDate: day(c)
    }
  },
  AllergyIntolerance: (c) => {
    const [code, display] = pick(c.random, ALLERGENS)
    return {
      clinicalStatus: coded('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active', 'Active'),
      code: coded(SNOMED, code, display),
      patient: c.patient,
      recordedDate: c.when,
      reaction: [{ manifestation: [coded(SNOMED, '247472004', 'Hives')], severity: pick(c.random, ['mild', 'moderate', 'severe']) }]
    }
  },
  Immunization: (c) => {
    const [code, display] = pick(c.random, VACCINES)
    return { status: 'completed', vaccineCode: coded('http://hl7.org/fhir/sid/cvx', code, display), patient: c.patient, occurrenceDateTime: c.when, primarySource: true }
  },
  MedicationRequest: (c) => {
    const [code, display] = pick(c.random, DRUGS)
    return {
      status: pick(c.random, ['active', 'completed', 'stopped']),
      intent: 'order',
      medicationCodeableConcept: coded(RXNORM, code, display),
      subject: c.patient,
      authoredOn: c.when,
      requester: c.ref('Practitioner', c.index),
      dosageInstruction: [{ text: 'Take 1 tablet by mouth once daily' }]
    }
  },
  MedicationAdministration: (c) => ({
    status: 'completed',
    medicationReference: c.ref('Medication', c.index),
    subject: c.patient,
    effectiveDateTime: c.when
  }),
  Medication: (c) => {
    const [code, display] = DRUGS[c.index % DRUGS.length]
    return { code: coded(RXNORM, code, display), status: 'active' }
  },
  Encounter: (c) => ({
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
    type: [coded(SNOMED, '185349003', 'Encounter for check up')],
    subject: c.patient,
    participant: [{ individual: c.ref('Practitioner', c.index) }],
    period: { start: c.when, end: c.when },
    location: [{ location: c.ref('Location', c.index) }],
    serviceProvider: c.ref('Organization', 0)
  }),
  Procedure: (c) => {
    const [code, display] = pick(c.random, PROCEDURES)
    return { status: 'completed', code: coded(SNOMED, code, display), subject: c.patient, performedDateTime: c.when }
  },
  DiagnosticReport: (c) => ({
    status: 'final',
    category: [coded('http://terminology.hl7.org/CodeSystem/v2-0074', 'LAB', 'Laboratory')],
    code: coded(LOINC, '24323-8', 'Comprehensive metabolic 2000 panel - Serum or Plasma'),
    subject: c.patient,
    effectiveDateTime: c.when,
    issued: c.when,
    result: [c.ref('Observation', c.index), c.ref('Observation', c.index + 1)]
  }),
  DocumentReference: (c) => ({
    status: 'current',
    type: coded(LOINC, '34133-9', 'Summary of episode note'),
    subject: c.patient,
    date: c.when,
    content: [{ attachment: { contentType: 'application/pdf', url: c.ref('Binary', c.index).reference, title: `Visit summary ${day(c)}` } }]
  }),
  // Filled in by the record store: a Binary's bytes are generated on read.
  Binary: () => ({ contentType: 'application/pdf' }),
  CarePlan: (c) => ({
    status: 'active',
    intent: 'plan',
    category: [coded('http://hl7.org/fhir/us/core/CodeSystem/careplan-category', 'assess-plan', 'Assessment and Plan of Treatment')],
    subject: c.patient,
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Walk 30 minutes a day.</div>' }
  }),
  CareTeam: (c) => ({
    status: 'active',
    subject: c.patient,
    participant: [{ member: c.ref('Practitioner', c.index) }, { member: c.ref('Organization', 0) }]
  }),
  Goal: (c) => ({
    lifecycleStatus: 'active',
    description: { text: pick(c.random, ['Lower HbA1c below 7%', 'Lose 5 kg', 'Quit smoking']) },
    subject: c.patient,
    startDate: day(c)
  }),
  Device: (c) => ({
    udiCarrier: [{ deviceIdentifier: `0${randomInt(c.random, 1000000000000, 9999999999999)}` }],
    status: 'active',
    type: coded(SNOMED, '14106009', 'Cardiac pacemaker'),
    patient: c.patient
  }),
  Provenance: (c) => ({
    target: [c.ref('DocumentReference', c.index)],
    recorded: c.when,
    agent: [{ who: c.ref('Organization', 0) }]
  }),
  Practitioner: (c) => ({ active: true, name: name(c.random).map((n) => ({ ...n, prefix: ['Dr.'] })) }),
  PractitionerRole: (c) => ({ active: true, practitioner: c.ref('Practitioner', c.index), organization: c.ref('Organization', 0) }),
  Organization: (c) => ({ active: true, name: c.practiceName }),
  Location: (c) => ({ status: 'active', name: `${c.practiceName} — suite ${100 + c.index}`, managingOrganization: c.ref('Organization', 0) })
}

export function buildResource (type: ResourceType, context: BuildContext): FhirResource {
  return { resourceType: type, id: context.id, ...BUILDERS[type](context) }
}
