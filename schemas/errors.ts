import { Type } from '@sinclair/typebox'

/**
 * Every error the gateway answers carries one of these codes: a client acts on the code, the
 * message is for people. The FHIR routes put it in OperationOutcome's details.coding under
 * GATEWAY_ERROR_SYSTEM; every other route in the problem body's `code`.
 */
export const ERROR_CODES = [
  'unauthorized', 'reauth_required', 'rate_limited', 'upstream_unavailable', 'upstream_timeout',
  'not_found', 'forbidden_target', 'method_not_allowed', 'invalid_request', 'service_unavailable',
  'internal_error'
] as const

export type ErrorCode = typeof ERROR_CODES[number]

export const GATEWAY_ERROR_SYSTEM = 'urn:healow-sync:error'

// A plain string enum in the document, which code generators turn into one union type.
export const ErrorCodeSchema = Type.Unsafe<ErrorCode>(Type.String({
  enum: [...ERROR_CODES],
  description: 'Stable machine-readable code: what a client acts on'
}))
