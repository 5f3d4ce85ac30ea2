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
  const unsubscribe = app.events.subscribe(async (event) => await dispatcher.enqueue(event))
  app.addHook('onReady', async () => { dispatcher.start() })
  app.addHook('onClose', async () => {
    unsubscribe()
    await dispatcher.stop()
  })
}, { name: 'webhooks', dependencies: ['config', 'events', 'store'] })
