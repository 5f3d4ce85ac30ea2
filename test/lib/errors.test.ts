import t from 'tap'
import { Ajv } from 'ajv'
import { ERROR_CODES, GATEWAY_ERROR_SYSTEM } from '../../schemas/errors.js'
import { ErrorResponse } from '../../schemas/common.js'
import { OperationOutcome } from '../../schemas/fhir.js'
import {
  errorHeaders,
  GatewayError,
  INTERNAL_ERROR_MESSAGE,
  operationOutcome,
  problemBody,
  RateLimitedError,
  ReauthRequiredError,
  toGatewayError
} from '../../lib/errors.js'

const ajv = new Ajv({ strict: false })
const validProblem = ajv.compile(ErrorResponse)
const validOutcome = ajv.compile(OperationOutcome)

t.test('every error code survives both renderers with its status, code and Retry-After', async (t) => {
  for (const code of ERROR_CODES) {
    const status = code === 'rate_limited' ? 429 : code === 'internal_error' ? 500 : 400
    const error = new GatewayError(status, code, `because of ${code}`, { retryAfterMs: 1500 })
    const problem = problemBody(error)
    t.ok(validProblem(problem), `${code}: problem body matches ErrorResponse ${JSON.stringify(validProblem.errors)}`)
    t.same([problem.statusCode, problem.code, problem.message], [status, code, `because of ${code}`], `${code}: problem body`)
    const outcome = operationOutcome(error)
    t.ok(validOutcome(outcome), `${code}: OperationOutcome matches its schema`)
    t.same(outcome.issue[0].details.coding, [{ system: GATEWAY_ERROR_SYSTEM, code }], `${code}: OperationOutcome coding`)
    t.equal(outcome.issue[0].details.text, `because of ${code}`)
    t.equal(errorHeaders(error)['retry-after'], '2', `${code}: Retry-After rounds 1.5 s up`)
  }
})

t.test('a thrown value keeps its code through toGatewayError, whatever threw it', async (t) => {
  const limited = toGatewayError(new RateLimitedError(30_000))
  t.same([limited.statusCode, limited.code, errorHeaders(limited)['retry-after']], [429, 'rate_limited', '30'])
  const reauth = toGatewayError(new ReauthRequiredError('c1', 'invalid_grant', 'https://gw.example/healow/connect?tenant=X'))
  t.equal(problemBody(reauth).reconnectUrl, 'https://gw.example/healow/connect?tenant=X', 'the reconnect URL reaches the problem body')
  t.match(operationOutcome(reauth).issue[0].diagnostics, /^reconnect: https:\/\/gw\.example\//, 'and the OperationOutcome')
  // An error of another family that carries one of our codes (as @fastify/rate-limit's or an older class would).
  const foreign = Object.assign(new Error('slow down'), { statusCode: 429, code: 'rate_limited', retryAfterMs: 4000 })
  t.same([toGatewayError(foreign).code, errorHeaders(toGatewayError(foreign))['retry-after']], ['rate_limited', '4'])
  const validation = Object.assign(new Error('querystring/limit must be <= 100'), { statusCode: 400, validation: [{}] })
  t.same([toGatewayError(validation).code, toGatewayError(validation).message], ['invalid_request', 'Invalid request: querystring/limit must be <= 100'])
  t.equal(toGatewayError(Object.assign(new Error('x'), { statusCode: 401 })).code, 'unauthorized')
  t.equal(toGatewayError(Object.assign(new Error('x'), { statusCode: 405 })).code, 'method_not_allowed')
  t.equal(toGatewayError(Object.assign(new Error('x'), { statusCode: 504 })).code, 'upstream_timeout')
  t.equal(toGatewayError(Object.assign(new Error('x'), { statusCode: 502 })).code, 'upstream_unavailable')
})

t.test('a bug never shows its text, and a 5xx cannot borrow a client code', async (t) => {
  const bug = toGatewayError(new TypeError("Cannot read properties of undefined (reading 'tokens') at /srv/app/secret-path.js"))
  t.same([bug.statusCode, bug.code, bug.message], [500, 'internal_error', INTERNAL_ERROR_MESSAGE])
  const disguised = toGatewayError(Object.assign(new Error('internal detail'), { statusCode: 500, code: 'not_found' }))
  t.same([disguised.statusCode, disguised.code, disguised.message], [500, 'internal_error', INTERNAL_ERROR_MESSAGE])
  t.equal(toGatewayError('a string').code, 'internal_error')
  t.equal(toGatewayError(null).code, 'internal_error')
})
