import { existsSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, processEnvironment, type Config } from './plugins/config.js'

/**
 * Builds the gateway and listens (`node dist/server.js`, `healow-sync start`), then shuts down
 * gracefully on SIGTERM or SIGINT. A failed start is logged, then thrown.
 */
export async function startServer (config: Config, warnings: readonly string[] = []): Promise<FastifyInstance> {
  const app = await buildApp(config)
  for (const w of warnings) app.log.warn(w)

  let closing = false
  async function shutDown (signal: string): Promise<void> {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    // A hung upstream must not keep the process alive forever.
    setTimeout(() => { app.log.error('graceful shutdown timed out'); process.exit(1) }, 15_000).unref()
    await app.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutDown('SIGTERM'))
  process.once('SIGINT', () => void shutDown('SIGINT'))

  try {
    await app.listen({ port: config.PORT, host: config.HOST })
  } catch (err) {
    app.log.fatal({ err }, 'could not start listening')
    // Its timers and database must not keep a failed process alive.
    await app.close().catch(() => {})
    throw err
  }
  app.log.info({ mode: config.mode, redirectUri: config.redirectUri }, 'healow-sync is ready')
  return app
}

/** Run as a program (`node dist/server.js`), not imported. */
function isEntryPoint (): boolean {
  const script = process.argv[1]
  return script !== undefined && existsSync(script) && realpathSync(script) === fileURLToPath(import.meta.url)
}

if (isEntryPoint()) {
  const warnings: string[] = []
  let config: Config
  try {
    config = loadConfig(processEnvironment(), (w) => warnings.push(w))
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`healow-sync cannot start: ${err.message}\nSee README.md, "Configuration".\n`)
    process.exit(1)
  }
  // A failed start is logged by startServer; only the exit code is left to say.
  await startServer(config, warnings).catch(() => { process.exit(1) })
}
