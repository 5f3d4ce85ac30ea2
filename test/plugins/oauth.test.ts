import t from 'tap'
import { createRequire } from 'node:module'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'

// Which of the OAuth library's modules this process has loaded: @fastify/oauth2 and what it brings.
const OAUTH_MODULES = /node_modules\/(@fastify\/oauth2|simple-oauth2|joi)\//
const loadedOAuthModules = (): string[] =>
  Object.keys(createRequire(import.meta.url).cache).filter((file) => OAUTH_MODULES.test(file))

t.test('@fastify/oauth2 is loaded by the first sign-in, not at start-up, and serves every sign-in after it', async (t) => {
  const stack = await startStack(t)
  const { gw, sim } = stack
  const idle = await fetch(`${gw.url}/health`)
  t.equal(idle.status, 200)
  t.same(loadedOAuthModules(), [], 'a started gateway that nobody has signed in through holds none of it')

  // Two patients sign in at once: one load serves both.
  const [first, second] = await Promise.all([
    connectPatient(stack, { practiceId: sim.practices[0].id }),
    connectPatient(stack, { practiceId: sim.practices[1].id })
  ])
  const loaded = loadedOAuthModules()
  t.ok(loaded.some((file) => file.includes('/@fastify/oauth2/')), '@fastify/oauth2 is loaded now')
  t.ok(loaded.some((file) => file.includes('/joi/')), 'with joi under it')
  for (const [{ connectionId, key }, practice] of [[first, sim.practices[0]], [second, sim.practices[1]]] as const) {
    const read = await fetch(`${gw.url}/fhir/${connectionId}/Patient/${practice.patientId}`, { headers: bearer(key) })
    t.equal(read.status, 200, 'each connection reads its patient')
  }
  t.not(first.connectionId, second.connectionId)
})
