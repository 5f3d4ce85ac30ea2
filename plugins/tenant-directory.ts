import fp from 'fastify-plugin'
import { TenantDirectory, type TenantDirectoryOptions } from '../lib/directory/directory.js'

declare module 'fastify' {
  interface FastifyInstance { tenantDirectory: TenantDirectory }
}

const HOUR_MS = 60 * 60 * 1000

/** By default a refresh reads the directory in a process of its own (TenantDirectoryOptions.collect). */
export type TenantDirectoryPluginOptions = Pick<TenantDirectoryOptions, 'collect'>

export default fp<TenantDirectoryPluginOptions>(async (app, { collect }) => {
  const { config } = app
  const directory = new TenantDirectory({
    source: config.HEALOW_DIRECTORY_URL,
    oauth: { authorizeUrl: config.HEALOW_AUTHORIZE_URL, tokenUrl: config.HEALOW_TOKEN_URL },
    store: app.store.directory,
    log: app.log.child({ part: 'tenant-directory' }),
    refreshIntervalMs: config.DIRECTORY_REFRESH_HOURS * HOUR_MS,
    addressPolicy: { allowLoopbackHttp: config.ALLOW_LOOPBACK_HTTP },
    collect
  })
  app.decorate('tenantDirectory', directory)
  app.readiness.register('directory', () => {
    const { ready, detail } = directory.status()
    return { ok: ready, detail }
  })
  // Start-up waits for the stored copy only; Healow is fetched in the background.
  await directory.start()
  app.addHook('onClose', async () => directory.close())
}, { name: 'tenant-directory', dependencies: ['config', 'readiness', 'store'] })
