// The simulator's own control surface, off the Healow-like paths, for benchmarks,
// the CLI and tests that run the gateway in another process.
import type { FastifyInstance } from 'fastify'
import { expireAccessTokens } from './access-tokens.js'
import type { RegisteredClients } from './clients.js'
import type { Faults, Quirks } from './options.js'
import { applySettings } from './runtime-settings.js'
import { resetCounters, type SimulatorState } from './state.js'

export const ADMIN_PREFIX = '/_sim'

export interface AdminRoutesOptions { state: SimulatorState; clients: RegisteredClients }

export default async function adminRoutes (app: FastifyInstance, { state, clients }: AdminRoutesOptions): Promise<void> {
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
