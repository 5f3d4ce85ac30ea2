/** The resource types Healow grants `patient/X.read` for (the scopes Mere requests). */
export const SCOPED_RESOURCE_TYPES = [
  'AllergyIntolerance', 'CarePlan', 'CareTeam', 'Condition', 'Device', 'DiagnosticReport',
  'DocumentReference', 'Binary', 'Encounter', 'Goal', 'Immunization', 'MedicationAdministration',
  'MedicationRequest', 'Observation', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole',
  'Procedure', 'Provenance', 'Medication', 'Location'
] as const

export type ResourceType = typeof SCOPED_RESOURCE_TYPES[number]

export const SMART_SCOPES = SCOPED_RESOURCE_TYPES.map((type) => `patient/${type}.read`)

export function isResourceType (value: string): value is ResourceType {
  return (SCOPED_RESOURCE_TYPES as readonly string[]).includes(value)
}

export interface FhirResource {
  resourceType: string
  id?: string
  [field: string]: unknown
}

export function operationOutcome (code: string, diagnostics: string): FhirResource {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics }]
  }
}
