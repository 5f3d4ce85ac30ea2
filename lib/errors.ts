import { ERROR_CODES, GATEWAY_ERROR_SYSTEM, type ErrorCode } from '../schemas/errors.js'

// Not imported: on Node 24 an ES import of node:http reads all its exports, WebSocket among them, which
// loads Node's own copy of undici (see lib/http-client.ts).
const { STATUS_CODES } = process.getBuiltinModule('node:http')

export type { ErrorCode } from '../schemas/errors.js'

export interface ErrorDetails {
  /** Sent as Retry-After (whole seconds, at least 1). */
  retryAfterMs?: number
  /** Sent as Allow with a 405. */
  allow?: string
  /** With reauth_required: where the patient logs in again. */
  reconnectUrl?: string
  /** More detail for a FHIR client (OperationOutcome.issue[0].diagnostics). */
  diagnostics?: string
}

/**
 * The one error type of the gateway. Whatever raises it (a route, the proxy, the refresher, the
 * directory), the error handler renders it as a problem body or an OperationOutcome with the same
 * status, code and Retry-After.
 */
export class GatewayError extends Error {
  constructor (
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: ErrorDetails = {}
  ) {
    super(message)
  }

  get retryAfterMs (): number | undefined { return this.extra.retryAfterMs }
  get reconnectUrl (): string | undefined { return this.extra.reconnectUrl }
}

/** The patient must log in at Healow again; nothing the client retries will help. */
export class ReauthRequiredError extends GatewayError {
  constructor (readonly connectionId: string, readonly reason: string, reconnectUrl: string) {
    super(401, 'reauth_required', `The connection needs the patient to log in at Healow again (${reason}); reconnect at ${reconnectUrl}`, { reconnectUrl })
  }
}

/** Healow's token endpoint (or another instance) cannot give a usable token now; the connection is kept. */
export class UpstreamUnavailableError extends GatewayError {
  constructor (message: string, retryAfterMs = 30_000) {
    super(503, 'upstream_unavailable', message, { retryAfterMs })
  }
}

/** The practice's Healow budget is spent for now; calling anyway would trip Healow's minute-long block. */
export class RateLimitedError extends GatewayError {
  constructor (retryAfterMs: number, message = `Healow's request budget for this practice is spent; retry in ${Math.ceil(retryAfterMs / 1000)} s`) {
    super(429, 'rate_limited', message, { retryAfterMs })
  }
}

export class ConnectionNotFoundError extends GatewayError {
  constructor (message: string) {
    super(404, 'not_found', message)
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES)

/** What a thrown value looks like from outside: Fastify's own errors, its plugins', undici's. */
interface ErrorLike {
  statusCode?: unknown
  status?: unknown
  code?: unknown
  message?: unknown
  validation?: unknown
  retryAfterMs?: unknown
  reconnectUrl?: unknown
}

export const INTERNAL_ERROR_MESSAGE = 'Something went wrong in the gateway; try again later'

/**
 * Any thrown value as a GatewayError. A 5xx that is not the gateway's own word about Healow
 * (502-504) is a bug: its text may hold internals, so it becomes internal_error and the caller
 * logs the original.
 */
export function toGatewayError (thrown: unknown): GatewayError {
  if (thrown instanceof GatewayError) return thrown
  const error: ErrorLike = thrown !== null && typeof thrown === 'object' ? thrown : {}
  const raw = typeof error.statusCode === 'number' ? error.statusCode : typeof error.status === 'number' ? error.status : 500
  const status = raw >= 400 && raw < 600 ? raw : 500
  const message = typeof error.message === 'string' ? error.message : String(thrown)
  const extra: ErrorDetails = {}
  if (typeof error.retryAfterMs === 'number') extra.retryAfterMs = error.retryAfterMs
  if (typeof error.reconnectUrl === 'string') extra.reconnectUrl = error.reconnectUrl
  if (typeof error.code === 'string' && KNOWN_CODES.has(error.code) && status < 500) {
    return new GatewayError(status, error.code as ErrorCode, message, extra)
  }
  if (status >= 502 && status <= 504) {
    return new GatewayError(status, status === 504 ? 'upstream_timeout' : 'upstream_unavailable', message, extra)
  }
  if (status >= 500) return new GatewayError(500, 'internal_error', INTERNAL_ERROR_MESSAGE)
  const text = error.validation ? `Invalid request: ${message}` : message
  return new GatewayError(status, codeForStatus(status), text, extra)
}

/** A refusal of the caller's request, with the code its status stands for. */
export function requestError (status: 400 | 401 | 403 | 404 | 409, message: string): GatewayError {
  return new GatewayError(status, codeForStatus(status), message)
}

function codeForStatus (status: number): ErrorCode {
  switch (status) {
    case 401: return 'unauthorized'
    case 404: return 'not_found'
    case 405: return 'method_not_allowed'
    case 429: return 'rate_limited'
    default: return 'invalid_request'
  }
}

/** Retry-After in whole seconds, never 0 (a client reading 0 would hammer us). */
export function retryAfterSeconds (ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

/** The headers an error answer carries besides its body. */
export function errorHeaders (error: GatewayError): Record<string, string> {
  const headers: Record<string, string> = {}
  if (error.extra.retryAfterMs !== undefined) headers['retry-after'] = String(retryAfterSeconds(error.extra.retryAfterMs))
  if (error.extra.allow) headers.allow = error.extra.allow
  return headers
}

export interface ProblemBody {
  statusCode: number
  error: string
  message: string
  code: ErrorCode
  reconnectUrl?: string
}

/** The JSON body of every non-FHIR error. */
export function problemBody (error: GatewayError): ProblemBody {
  return {
    statusCode: error.statusCode,
    error: STATUS_CODES[error.statusCode] ?? 'Error',
    message: error.message,
    code: error.code,
    ...(error.extra.reconnectUrl ? { reconnectUrl: error.extra.reconnectUrl } : {})
  }
}

/**
 * `issue[0].code` is FHIR's IssueType (what generic clients understand);
 * `issue[0].details.coding[0].code` is our stable code (what a client acts on).
 */
const ISSUE_TYPE: Record<ErrorCode, string> = {
  unauthorized: 'login',
  reauth_required: 'login',
  rate_limited: 'throttled',
  upstream_unavailable: 'transient',
  upstream_timeout: 'timeout',
  not_found: 'not-found',
  forbidden_target: 'forbidden',
  method_not_allowed: 'not-supported',
  invalid_request: 'invalid',
  service_unavailable: 'transient',
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

/** The same error as a FHIR OperationOutcome, for the FHIR routes. */
export function operationOutcome (error: GatewayError): OperationOutcome {
  const diagnostics = error.extra.diagnostics ?? (error.extra.reconnectUrl ? `reconnect: ${error.extra.reconnectUrl}` : undefined)
  return {
    resourceType: 'OperationOutcome',
    issue: [{
      severity: 'error',
      code: ISSUE_TYPE[error.code],
      details: { coding: [{ system: GATEWAY_ERROR_SYSTEM, code: error.code }], text: error.message },
      ...(diagnostics ? { diagnostics } : {})
    }]
  }
}

/** An error that knows a better sentence for a person at a browser than its status's own. */
export function withPersonMessage<E extends Error> (error: E, personMessage: string): E {
  return Object.assign(error, { personMessage })
}

/** The sentence withPersonMessage attached, if any. */
export function personMessageOf (error: unknown): string | undefined {
  const message = (error as { personMessage?: unknown } | null)?.personMessage
  return typeof message === 'string' ? message : undefined
}
