// The simulator's HTTP surface in one place: the admin routes, then everything
// Healow-like (OAuth, FHIR, directory) behind its affinity-cookie quirk.
import Fastify, { type FastifyInstance } from 'fastify'
import { accessTokenCheck } from './access-tokens.js'
import adminRoutes from './admin-routes.js'
import { setAffinityCookies } from './affinity-cookies.js'
import type { AuthorizationServer } from './authorization-server.js'
import type { RegisteredClients } from './clients.js'
import { DIRECTORY_PATH, endpointsBundle } from './directory.js'
import fhirRoutes from './fhir-routes.js'
import oauthRoutes from './oauth-routes.js'
import type { SimulatorState } from './state.js'

export async function buildSimulatorApp (
  state: SimulatorState,
  authorizationServer: AuthorizationServer,
  clients: RegisteredClients
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(adminRoutes, { state, clients })
  await app.register(async (healow) => {
    healow.addHook('onRequest', async (_request, reply) => {
      if (state.quirks.affinityCookies) setAffinityCookies(reply.raw)
    })
    await healow.register(oauthRoutes, { state, authorizationServer })
    await healow.register(fhirRoutes, {
      state,
      checkAccessToken: accessTokenCheck(state, authorizationServer.issuer, authorizationServer.publicJwk)
    })
  })
  const directory = endpointsBundle(state.practices, state.url)
  app.get(DIRECTORY_PATH, async (_request, reply) => reply.type('application/fhir+json').send(directory))
  await app.ready()
  return app
}
