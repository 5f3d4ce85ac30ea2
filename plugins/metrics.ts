import fp from 'fastify-plugin'
import { once } from 'node:events'
import { NO_METRICS, type MetricsRecorder } from '../lib/metrics.js'

// Not imported: on Node 24 an ES import of node:http loads Node's own copy of undici (see lib/http-client.ts).
const { createServer } = process.getBuiltinModule('node:http')

declare module 'fastify' {
  interface FastifyInstance { metrics: MetricsRecorder }
}

/**
 * Prometheus metrics on their own listener (METRICS_PORT on HOST), so that scraping needs no
 * connection key and the public port never exposes them. Without METRICS_PORT nothing is counted:
 * the other plugins record into a recorder that does nothing, and no hook is added.
 */
export default fp(async (app) => {
  const port = app.config.METRICS_PORT
  if (port === undefined) {
    app.decorate('metrics', NO_METRICS)
    return
  }
  const { GatewayMetrics } = await import('../lib/gateway-metrics.js')
  const metrics = new GatewayMetrics(async () => await app.store.connections.countByStatus())
  app.decorate('metrics', metrics)
  // The route pattern (e.g. /fhir/:connectionId/*), never the URL: that would carry ids.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode)
    done()
  })

  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at GET /metrics\n')
      return
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => {
        app.log.warn({ err: err.message }, 'metrics collection failed')
        response.writeHead(503, { 'content-type': 'text/plain' }).end('metrics are unavailable for now\n')
      })
  })
  app.addHook('onReady', async () => {
    server.listen(port, app.config.HOST)
    await once(server, 'listening')
    app.log.info({ port, host: app.config.HOST }, 'metrics listening')
  })
  app.addHook('onClose', async () => {
    if (server.listening) await new Promise((resolve) => server.close(resolve))
  })
}, { name: 'metrics', dependencies: ['config', 'store'] })
