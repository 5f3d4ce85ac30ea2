// The simulator's own control surface, off the Healow-like paths, for benchmarks,
// the CLI and tests that run the gateway in another process.
import type { FastifyInstance } from 'fastify'
import { expireAccessTokens } from './access-tokens.js'
import type { RegisteredClients } from './clients.js'
import type { Faults, Quirks } from './options.js'
import { applySettings } from './runtime-settings.js'
import { resetCounters, type SimulatorState } from './state.js'
import { checkChanges, type RecordChanges } from './patient-records.js'

export const ADMIN_PREFIX = '/_sim'

export interface AdminRoutesOptions { state: SimulatorState; clients: RegisteredClients }

export default async function adminRoutes (
  app: FastifyInstance,
  { state, clients }: AdminRoutesOptions
): Promise<void> {
  const settings = (name: 'quirks' | 'faults', target: Quirks | Faults) => {
    app.get(`${ADMIN_PREFIX}/${name}`, async () => target)
    app.post(`${ADMIN_PREFIX}/${name}`, async (request, reply) => {
      const problem = applySettings(target, request.body)
      return problem ? reply.code(400).send({ error: problem }) : target
    })
  }
  settings('quirks', state.quirks)
  settings('faults', state.faults)

  app.get(`${ADMIN_PREFIX}/counters`, async () => state.counters.snapshot())
  app.post(`${ADMIN_PREFIX}/counters/reset`, async (_request, reply) => {
    resetCounters(state)
    return reply.code(204).send()
  })

  // Changes between two syncs: { practice, add: { Observation: 3 }, update: {…}, delete: {…} } → the ids changed.
  app.post(`${ADMIN_PREFIX}/changes`, async (request, reply) => {
    const { practice: practiceId, ...changes } = (request.body ?? {}) as { practice?: unknown } & RecordChanges
    const practice = typeof practiceId === 'string' ? state.practiceById(practiceId) : undefined
    if (!practice) return reply.code(400).send({ error: 'practice must name one of the simulator\'s practices' })
    const problem = checkChanges(changes)
    if (problem) return reply.code(400).send({ error: problem })
    return state.records(practice).change(changes)
  })

  app.post(`${ADMIN_PREFIX}/expire-tokens`, async (request, reply) => {
    const token = (request.body as { token?: unknown } | undefined)?.token
    try {
      expireAccessTokens(state, typeof token === 'string' ? token : undefined)
    } catch {
      return reply.code(400).send({ error: 'token is not a JWT access token of this simulator' })
    }
    return reply.code(204).send()
  })

  app.get(`${ADMIN_PREFIX}/info`, async () => ({
    url: state.url,
    aliasBase: state.aliasBase,
    practices: state.practices,
    clients: { public: clients.public, confidential: clients.confidential }
  }))
}
