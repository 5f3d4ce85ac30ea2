/** Public: PKCE only, no refresh token. Confidential: a client secret, and refresh tokens with offline_access. */
export type Mode = 'public' | 'confidential'

// The resource types Mere web asks Healow for, as its own authorize request lists them.
export const PATIENT_READ_RESOURCES = [
  'AllergyIntolerance', 'CarePlan', 'CareTeam', 'Condition', 'Device', 'DiagnosticReport', 'DocumentReference', 'Binary',
  'Encounter', 'Goal', 'Immunization', 'MedicationAdministration', 'MedicationRequest', 'Observation', 'Organization',
  'Patient', 'Practitioner', 'PractitionerRole', 'Procedure', 'Provenance', 'Medication', 'Location'
] as const

/** Scopes by mode: only a confidential client may ask for offline_access (refresh tokens). */
export function scopesFor (mode: Mode): string[] {
  return ['openid', 'fhirUser', ...PATIENT_READ_RESOURCES.map((r) => `patient/${r}.read`), ...(mode === 'confidential' ? ['offline_access'] : [])]
}
