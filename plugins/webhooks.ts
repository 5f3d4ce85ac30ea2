import fp from 'fastify-plugin'
import { WebhookDispatcher, type WebhookDispatcherOptions } from '../lib/webhooks/dispatcher.js'
import { webhookSigningKey } from '../lib/webhooks/secret.js'

declare module 'fastify' {
  /** Null when WEBHOOK_URL and WEBHOOK_SECRET are not set. */
  interface FastifyInstance { webhooks: WebhookDispatcher | null }
}

/** What a test may change: the clock, the retry schedule, the polling. */
export type WebhooksPluginOptions = Partial<Pick<WebhookDispatcherOptions, 'clock' | 'random' | 'retry' | 'timeoutMs' | 'pollMs'>>

export default fp<WebhooksPluginOptions>(async (app, options) => {
  const { WEBHOOK_URL: url, WEBHOOK_SECRET: secret } = app.config
  if (!url || !secret) {
    app.decorate('webhooks', null)
    return
  }
  const key = webhookSigningKey(secret)
  const dispatcher = new WebhookDispatcher({ ...options, url, key, outbox: app.store.webhooks, log: app.log })
  app.decorate('webhooks', dispatcher)
  // Shown on GET /ready for the operator; undelivered webhooks never make the instance unready.
  app.readiness.register('webhooks', async () => {
    const { counts, failed } = await dispatcher.status()
    const last = failed[0] ? `; last given up: ${failed[0].type} of ${new Date(failed[0].createdAt).toISOString()} (${failed[0].lastError ?? ''})` : ''
    return { ok: true, detail: `${counts.pending} pending, ${counts.delivered} delivered, ${counts.failed} given up${last}` }
  })
  const unsubscribe = app.events.subscribe(async (event) => await dispatcher.enqueue(event))
  app.addHook('onReady', async () => { dispatcher.start() })
  app.addHook('onClose', async () => {
    unsubscribe()
    await dispatcher.stop()
  })
}, { name: 'webhooks', dependencies: ['config', 'events', 'readiness', 'store'] })
