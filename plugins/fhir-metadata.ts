import fp from 'fastify-plugin'
import { CapabilityCache, gatewayCapabilityStatement } from '../lib/fhir/capability-statement.js'
import { holdOffAfterUpstream429, takeBudgetOrRefuse, upstreamFailure } from '../lib/fhir/upstream.js'
import { GatewayError } from '../lib/errors.js'
import { fetch } from '../lib/http-client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The CapabilityStatement served at /fhir/{connectionId}/metadata, as JSON text. */
    fhirMetadata: (connectionId: string) => Promise<string>
  }
}

/**
 * The practice's CapabilityStatement for SMART clients, without the connection key: fetched from
 * Healow without credentials (it is public there too), within the practice's request budget, and
 * cached per practice.
 */
export default fp(async (app) => {
  const { config, requestBudget: budget, metrics } = app

  async function fetchStatement (fhirBase: string, practiceId: string): Promise<string> {
    await takeBudgetOrRefuse(budget, practiceId)
    const started = performance.now()
    const response = await fetch(`${fhirBase}/metadata`, {
      headers: { accept: 'application/fhir+json' }, redirect: 'manual', signal: AbortSignal.timeout(config.UPSTREAM_TIMEOUT_MS)
    }).catch((err: Error & { code?: string }) => {
      metrics.upstream(practiceId, 'fhir', (performance.now() - started) / 1000, undefined)
      throw upstreamFailure(err.name === 'TimeoutError' ? { code: 'UND_ERR_HEADERS_TIMEOUT' } : err)
    })
    metrics.upstream(practiceId, 'fhir', (performance.now() - started) / 1000, response.status)
    if (response.status === 429) {
      await response.body?.cancel()
      throw await holdOffAfterUpstream429(budget, practiceId, response.headers.get('retry-after') ?? undefined)
    }
    if (!response.ok) {
      await response.body?.cancel()
      throw new GatewayError(502, 'upstream_unavailable', `Healow answered ${response.status} for the practice's CapabilityStatement; try again later`)
    }
    const statement = gatewayCapabilityStatement(await response.json().catch(() => undefined), config.PUBLIC_URL)
    if (statement === undefined) throw new GatewayError(502, 'upstream_unavailable', "Healow's metadata answer is not a CapabilityStatement")
    return JSON.stringify(statement)
  }

  const cache = new CapabilityCache()
  app.decorate('fhirMetadata', async (connectionId: string) => {
    const connection = await app.vault.record(connectionId)
    if (connection === null) throw new GatewayError(404, 'not_found', 'No such connection')
    return await cache.get(
      connection.fhirBase,
      async () => await fetchStatement(connection.fhirBase,
        connection.practiceId)
    )
  })
}, { name: 'fhir-metadata', dependencies: ['config', 'vault', 'request-budget', 'metrics'] })
