import { Type } from '@sinclair/typebox'
import { ERROR_CODES, GATEWAY_ERROR_SYSTEM } from './errors.js'
import { EXAMPLE_BUNDLE } from './examples.js'

export const OperationOutcome = Type.Object({
  resourceType: Type.Literal('OperationOutcome'),
  issue: Type.Array(Type.Object({
    severity: Type.String({ description: 'FHIR IssueSeverity; the gateway always says error' }),
    code: Type.String({ description: 'FHIR IssueType (login, throttled, transient, timeout, not-found, forbidden, …)' }),
    details: Type.Optional(Type.Object({
      coding: Type.Optional(Type.Array(Type.Object({
        system: Type.Optional(Type.String({ description: `${GATEWAY_ERROR_SYSTEM} for the gateway's own codes` })),
        code: Type.Optional(Type.String({ description: `The gateway's code, one of: ${ERROR_CODES.join(', ')}` }))
      }, { additionalProperties: true }))),
      text: Type.Optional(Type.String({ description: 'What happened, in words' }))
    }, { additionalProperties: true })),
    diagnostics: Type.Optional(Type.String({ description: 'More detail; with reauth_required, where the patient reconnects' }))
  }, { additionalProperties: true }), { minItems: 1 })
}, {
  $id: 'OperationOutcome',
  title: 'OperationOutcome',
  description: "A FHIR R4 OperationOutcome: every error of the FHIR proxy, and Healow's own errors passed through",
  additionalProperties: true
})

export const FhirResource = Type.Object({
  resourceType: Type.String({ description: 'Bundle for searches, paging links and history; the resource type for reads' })
}, {
  $id: 'FhirResource',
  title: 'FhirResource',
  description: 'Any FHIR R4 resource as Healow returns it. In a Bundle, link[].url and entry[].fullUrl that point into the practice are rewritten to point through the gateway; other links are removed.',
  additionalProperties: true,
  examples: [EXAMPLE_BUNDLE]
})

export const fhirSchemas = [OperationOutcome, FhirResource]
