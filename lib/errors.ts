/**
 * The proxy's own errors, answered as FHIR OperationOutcome so that a FHIR client reads them like
 * any server error. `issue[0].code` is FHIR's IssueType (what generic clients understand);
 * `issue[0].details.coding[0].code` is our stable code (what a client acts on).
 */
export const GATEWAY_ERROR_SYSTEM = 'urn:healow-sync:error'

export type GatewayErrorCode =
  | 'unauthorized' | 'reauth_required' | 'rate_limited' | 'upstream_unavailable' | 'upstream_timeout'
  | 'not_found' | 'forbidden_target' | 'method_not_allowed' | 'invalid_request' | 'internal_error'

const ISSUE_TYPE: Record<GatewayErrorCode, string> = {
  unauthorized: 'login',
  reauth_required: 'login',
  rate_limited: 'throttled',
  upstream_unavailable: 'transient',
  upstream_timeout: 'timeout',
  not_found: 'not-found',
  forbidden_target: 'forbidden',
  method_not_allowed: 'not-supported',
  invalid_request: 'invalid',
  internal_error: 'exception'
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome'
  issue: Array<{
    severity: 'error'
    code: string
    details: { coding: Array<{ system: string, code: string }>, text: string }
    diagnostics?: string
  }>
}

export class GatewayError extends Error {
  constructor (
    readonly statusCode: number,
    readonly code: GatewayErrorCode,
    message: string,
    readonly extra: { retryAfterMs?: number, allow?: string, diagnostics?: string } = {}
  ) {
    super(message)
  }
}

export function operationOutcome (code: GatewayErrorCode, text: string, diagnostics?: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{
      severity: 'error',
      code: ISSUE_TYPE[code],
      details: { coding: [{ system: GATEWAY_ERROR_SYSTEM, code }], text },
      ...(diagnostics ? { diagnostics } : {})
    }]
  }
}

/** Retry-After in whole seconds, never 0 (a client reading 0 would hammer us). */
export function retryAfterSeconds (ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}
