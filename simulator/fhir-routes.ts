// One FHIR R4 server per practice at {url}/fhir/r4/{code}: discovery, search by
// patient with paging, read by id, Binary — behind Healow's token check, rate limit,
// quirks and the switchable faults.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AccessTokenCheck } from './access-tokens.js'
import { capabilityStatement, smartConfiguration } from './capability.js'
import { sendFhir } from './fhir-reply.js'
import { isResourceType, operationOutcome, type ResourceType } from './fhir-types.js'
import { LARGE_BINARY_ID, largeBinaryBody } from './large-binary.js'
import type { Practice } from './practices.js'
import { seededRandom } from './prng.js'
import { parsePageQuery, searchBundle } from './search-bundle.js'
import { UNKNOWN_LINK_ORIGIN } from './options.js'
import type { SimulatorState } from './state.js'

export interface FhirRoutesOptions { state: SimulatorState; checkAccessToken: AccessTokenCheck }

type Params = { code: string; type?: string; id?: string }
type Query = Record<string, string | undefined>

/**
 * Healow answers 400 to `_count` on these searches
 * ("Does not know how to handle get operation with parameter [patient,_count]").
 */
const COUNT_REJECTED = new Set<ResourceType>(['CarePlan', 'CareTeam', 'Observation'])
const MAX_PAGE_SIZE = 1000

export default async function fhirRoutes (
  app: FastifyInstance,
  { state, checkAccessToken }: FhirRoutesOptions
): Promise<void> {
  const faultDice = seededRandom(state.options.seed, 'faults')
  const fail = (reply: FastifyReply, status: number, code: string, text: string) =>
    sendFhir(reply, state, status, operationOutcome(code, text))

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))))

  /**
   * What every request under a practice's base goes through. Returns the practice
   * (and, when `type` needs a token, the token's patient), or undefined once it has replied.
   */
  async function admit (request: FastifyRequest, reply: FastifyReply, type?: ResourceType) {
    const refuse = (status: number, code: string, text: string): undefined => {
      fail(reply, status, code, text)
      return undefined
    }
    const practice = state.practiceById((request.params as Params).code)
    if (!practice) return refuse(404, 'not-found', 'Unknown practice')
    state.counters.countFhir(practice.id)
    if (!state.rateLimit.take(practice.id)) {
      state.counters.countRateLimited()
      // Healow: 429 for the rest of the minute, without Retry-After.
      return refuse(429, 'throttled', 'Rate limit exceeded')
    }
    const { faults } = state
    if (faults.latencyMs > 0) await sleep(faults.latencyMs)
    if (faults.errorRate > 0 && faultDice() < faults.errorRate) {
      return refuse(faultDice() < 0.5 ? 500 : 503, 'exception', 'Simulated upstream failure')
    }
    if (!type) return { practice, patientId: undefined }
    const token = await checkAccessToken(request.headers.authorization, practice)
    if (!token.ok) return refuse(401, 'login', token.problem)
    if (!token.scopes.has(`patient/${type}.read`)) {
      return refuse(403, 'forbidden', `Scope patient/${type}.read not granted`)
    }
    if (state.options.refusedTypes[practice.id]?.includes(type)) {
      return refuse(403, 'forbidden', `${type} is not available at this practice`)
    }
    return { practice, patientId: token.patientId }
  }

  /** Where links point: the request's own origin, or the alias host, or a host nobody knows (quirks). */
  function linkBase (request: FastifyRequest, practice: Practice): string {
    const { quirks } = state
    const origin = quirks.unknownHostLinks ? UNKNOWN_LINK_ORIGIN : quirks.aliasHostLinks ? state.aliasBase : `http://${request.headers.host}`
    return `${origin}/fhir/r4/${practice.id}`
  }

  async function search (request: FastifyRequest, reply: FastifyReply, query: Query) {
    const { type } = request.params as Params
    if (!type || !isResourceType(type)) return fail(reply, 404, 'not-supported', `Unknown resource type ${type}`)
    const admitted = await admit(request, reply, type)
    if (!admitted) return reply
    const names = Object.keys(query).sort()
    // A repeated parameter arrives as a list; those the simulator reads must come once.
    const repeated = ['patient', '_id', '_count'].find((name) => Array.isArray(query[name]))
    if (repeated) return fail(reply, 400, 'invalid', `Parameter ${repeated} given more than once`)
    if (state.quirks.rejectCount && COUNT_REJECTED.has(type) && names.includes('_count')) {
      return fail(reply, 400, 'not-supported', `Does not know how to handle get operation with parameter [${names.join(',')}]`)
    }
    const patientId = (type === 'Patient' ? query._id ?? query.patient : query.patient)?.replace(/^Patient\//, '')
    if (!patientId) return fail(reply, 400, 'required', 'A search needs the patient parameter')
    if (patientId !== admitted.patientId) return fail(reply, 403, 'forbidden', 'The token is for another patient')
    const count = query._count === undefined ? state.options.pageSize : Number(query._count)
    if (!Number.isInteger(count) || count < 1) return fail(reply, 400, 'invalid', '_count must be a positive integer')
    const base = linkBase(request, admitted.practice)
    const selfUrl = `${base}/${type}?${new URLSearchParams(query as Record<string, string>)}`
    if (type === 'DocumentReference' && state.faults.documentReferenceDelayMs > 0) await sleep(state.faults.documentReferenceDelayMs)
    if (type === 'Goal' && state.quirks.hollowGoalSearch) {
      return sendFhir(reply, state, 200, { resourceType: 'Bundle', type: 'searchset', total: 50, link: [{ relation: 'self', url: selfUrl }] })
    }
    const page = { type, patientId, offset: 0, count: Math.min(count, MAX_PAGE_SIZE) }
    return sendFhir(reply, state, 200, searchBundle(state.records(admitted.practice), page, base, selfUrl))
  }

  app.get('/fhir/r4/:code/metadata', async (request, reply) => {
    const admitted = await admit(request, reply)
    if (!admitted) return reply
    // Healow serves its CapabilityStatement as application/fhir+json whatever the quirk.
    const everything = state.options.everythingPractices.includes(admitted.practice.id)
    return sendFhir(reply, state, 200, capabilityStatement(admitted.practice, state.url, everything), 'application/fhir+json')
  })

  app.get('/fhir/r4/:code/.well-known/smart-configuration', async (request, reply) => {
    const admitted = await admit(request, reply)
    if (!admitted) return reply
    return reply.send(smartConfiguration(admitted.practice, state.url))
  })

  // Patient/$everything, where the practice declares it: every type but Binary, paged like a search.
  app.get('/fhir/r4/:code/Patient/:id/$everything', async (request, reply) => {
    const admitted = await admit(request, reply, 'Patient')
    if (!admitted) return reply
    if (!state.options.everythingPractices.includes(admitted.practice.id)) return fail(reply, 400, 'not-supported', 'Operation $everything is not supported')
    if ((request.params as Params).id !== admitted.patientId) return fail(reply, 403, 'forbidden', 'The token is for another patient')
    const base = linkBase(request, admitted.practice)
    const page = { type: 'everything' as const, patientId: admitted.patientId!, offset: 0, count: state.options.pageSize }
    return sendFhir(reply, state, 200, searchBundle(state.records(admitted.practice), page, base, `${base}/Patient/${admitted.patientId}/$everything`))
  })

  // Paging links (`_getpages`) are answered at the base.
  app.get('/fhir/r4/:code', async (request, reply) => {
    const page = parsePageQuery(request.query as Query)
    if (!page) return fail(reply, 400, 'invalid', 'Unknown or expired paging link')
    const admitted = await admit(request, reply, page.type === 'everything' ? 'Patient' : page.type)
    if (!admitted) return reply
    if (page.patientId !== admitted.patientId) return fail(reply, 403, 'forbidden', 'The token is for another patient')
    const base = linkBase(request, admitted.practice)
    return sendFhir(reply, state, 200, searchBundle(state.records(admitted.practice), page, base, `${base}${request.url.slice(request.url.indexOf('?'))}`))
  })

  app.get('/fhir/r4/:code/:type', async (request, reply) => search(request, reply, request.query as Query))

  app.post('/fhir/r4/:code/:type/_search', async (request, reply) =>
    search(request, reply, { ...(request.query as Query), ...(request.body as Query | undefined) }))

  app.get('/fhir/r4/:code/:type/:id', async (request, reply) => {
    const { type, id } = request.params as Params
    if (!type || !isResourceType(type)) return fail(reply, 404, 'not-supported', `Unknown resource type ${type}`)
    const admitted = await admit(request, reply, type)
    if (!admitted) return reply
    const { largeBinaryBytes, seed } = state.options
    if (type === 'Binary' && id === LARGE_BINARY_ID && largeBinaryBytes > 0) {
      const { length, stream } = largeBinaryBody(largeBinaryBytes, seed)
      return reply.type('application/fhir+json').header('content-length', length).send(stream)
    }
    const resource = state.records(admitted.practice).read(type, id!)
    if (!resource) return fail(reply, 404, 'not-found', `${type}/${id} is not known`)
    return sendFhir(reply, state, 200, resource)
  })
}
