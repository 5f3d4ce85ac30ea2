import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import helmet from '@fastify/helmet'
import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import configPlugin from './plugins/config.js'
import type { Config } from './lib/config.js'
import { loggingOptions } from './logging.js'
import errors from './plugins/errors.js'
import pages from './plugins/pages.js'
import { PAGE_CSP_DIRECTIVES } from './lib/security-headers.js'
import openapi from './plugins/openapi.js'
import readiness from './plugins/readiness.js'
import idleCollection from './plugins/idle-collection.js'
import events from './plugins/events.js'
import store from './plugins/store.js'
import webhooks, { type WebhooksPluginOptions } from './plugins/webhooks.js'
import vault from './plugins/vault.js'
import metrics from './plugins/metrics.js'
import connections from './plugins/connections.js'
import healowTokenClient from './plugins/healow-token-client.js'
import tokens from './plugins/tokens.js'
import requestBudget from './plugins/request-budget.js'
import fhirProxy from './plugins/fhir-proxy.js'
import fhirMetadata from './plugins/fhir-metadata.js'
import oauth from './plugins/oauth.js'
import mereCompat from './plugins/mere-compat.js'
import mereProxy from './plugins/mere-proxy.js'
import tenantDirectory, { type TenantDirectoryPluginOptions } from './plugins/tenant-directory.js'
import sync, { type SyncPluginOptions } from './plugins/sync.js'
import { sharedSchemas } from './schemas/index.js'
import healthRoutes from './routes/health.js'
import instanceConfigRoutes from './routes/instance-config.js'
import openapiRoutes from './routes/openapi.js'
import healowOAuthRoutes from './routes/healow-oauth.js'
import connectionRoutes from './routes/connections.js'
import tenantRoutes from './routes/tenants.js'
import mereTenantRoutes from './routes/mere-tenants.js'
import fhirRoutes from './routes/fhir.js'
import fhirMetadataRoutes from './routes/fhir-metadata.js'
import mereTokenRoutes from './routes/mere-token.js'
import mereProxyRoutes from './routes/mere-proxy.js'
import pageRoutes from './routes/pages.js'
import adminRoutes from './routes/admin.js'
import admin from './plugins/admin.js'
import syncRoutes from './routes/sync.js'
import recordRoutes from './routes/records.js'

export interface BuildOptions {
  /** Where log lines go; tests capture them to prove no secret is written. */
  logStream?: NodeJS.WritableStream
  /** Waits between attempts of one token refresh; tests of Healow outages shorten them. */
  refreshRetryDelaysMs?: number[]
  /** The webhook dispatcher's clock and retry schedule; tests of a day of retries change them. */
  webhooks?: WebhooksPluginOptions
  /** The sync's clock and upstream retry waits (tests of schedules and outages). */
  sync?: SyncPluginOptions
  /** How the directory is read (tests of other parts read it in their own process). */
  directory?: TenantDirectoryPluginOptions
}

function trustNearestHops (hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops
}

/** The whole service: third-party plugins, then ours in dependency order, then routes. */
export async function buildApp (
  config: Config, {
    logStream,
    refreshRetryDelaysMs,
    webhooks: webhookOptions = {},
    directory: directoryOptions = {},
    sync: syncOptions = {}
  }: BuildOptions = {}
): Promise<FastifyInstance> {
  const app = Fastify({
    ...loggingOptions({ config, stream: logStream }),
    // A hop count as Fastify applies it at run time (its typings lack the number form): trust the nearest n.
    trustProxy: typeof config.trustProxy === 'number' ? trustNearestHops(config.trustProxy) : config.trustProxy,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(configPlugin, { config })
  await app.register(cors, { origin: config.allowedOrigins, credentials: false, maxAge: 600 })
  await app.register(rateLimit, { global: false })
  for (const schema of sharedSchemas) app.addSchema(schema)
  await app.register(openapi)
  await app.register(pages)
  await app.register(errors)
  await app.register(readiness)
  await app.register(events)
  await app.register(store)
  await app.register(metrics)
  await app.register(idleCollection)
  await app.register(webhooks, webhookOptions)
  await app.register(vault)
  await app.register(connections)
  await app.register(healowTokenClient)
  await app.register(requestBudget)
  await app.register(tokens, { retryDelaysMs: refreshRetryDelaysMs })
  await app.register(fhirProxy)
  await app.register(fhirMetadata)
  await app.register(tenantDirectory, directoryOptions)
  await app.register(mereCompat)
  await app.register(mereProxy)
  await app.register(sync, syncOptions)

  // Pages, OAuth and the JSON API: helmet's headers, and cookies for the OAuth state. The proxies
  // stay outside this context: they set fixed security headers of their own and read no cookie,
  // and the two plugins' four hooks were a good part of a proxied read's cost.
  await app.register(async (site) => {
    await site.register(helmet, { contentSecurityPolicy: { useDefaults: false, directives: PAGE_CSP_DIRECTIVES } })
    // Signed cookies (the connect result, the operator's session) verify on every instance that
    // shares the vault key; a new ADMIN_TOKEN voids every signature made under the old one.
    await site.register(cookie, { secret: app.vault.deriveKey(`cookies ${config.ADMIN_TOKEN ?? ''}`).toString('base64url') })
    await site.register(oauth)
    await site.register(healthRoutes)
    await site.register(instanceConfigRoutes)
    await site.register(openapiRoutes)
    await site.register(healowOAuthRoutes)
    await site.register(connectionRoutes)
    await site.register(syncRoutes)
    await site.register(recordRoutes)
    await site.register(tenantRoutes)
    await site.register(mereTenantRoutes)
    await site.register(mereTokenRoutes)
    await site.register(pageRoutes)
    // The operator view exists only with ADMIN_TOKEN: without it, its routes answer 404.
    if (config.ADMIN_TOKEN) {
      await site.register(admin)
      await site.register(adminRoutes)
    }
  })
  await app.register(fhirMetadataRoutes)
  await app.register(fhirRoutes)
  await app.register(mereProxyRoutes)
  return app
}
