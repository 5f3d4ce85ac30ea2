import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { existsSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './plugins/config.js'
import { startupProblem } from './lib/startup-problems.js'

/** How long in-flight requests get after a signal: a hung upstream must not keep the process alive. */
const SHUTDOWN_GRACE_MS = 15_000

/**
 * Builds the gateway, listens, and owns the process's life from then on: SIGINT, SIGTERM and the
 * other termination signals close it gracefully (exit 0); an uncaught exception or unhandled
 * rejection is logged, the server closed, and the process exits 1; a second signal or error while
 * closing, or a close that outlasts the grace period, exits 1 at once. Closing the returned
 * instance yourself releases the process handlers.
 */
export async function startServer (config: Config, warnings: readonly string[] = []): Promise<FastifyInstance> {
  const app = await buildApp(config)
  for (const w of warnings) app.log.warn(w)

  const graceful = closeWithGrace({
    delay: SHUTDOWN_GRACE_MS,
    logger: false,
    onSecondSignal: (signal) => { app.log.warn({ signal }, 'second signal while shutting down: exiting at once') },
    onSecondError: (err) => { app.log.fatal({ err }, 'uncaught error while shutting down: exiting at once') },
    onTimeout: (delayMs) => { app.log.error({ delayMs }, 'graceful shutdown timed out: exiting') }
  }, async ({ signal, err }) => {
    if (err) app.log.fatal({ err }, 'uncaught error: closing the server, then exiting')
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    const closed = app.close()
    // The server stops only when every connection has ended, and a keep-alive connection whose
    // request finishes during the drain would otherwise idle until its timeout: close each as it idles.
    const reaper = setInterval(() => { app.server.closeIdleConnections() }, 100)
    try {
      await closed
    } finally {
      clearInterval(reaper)
    }
    app.log.info('closed')
  })
  app.addHook('onClose', async () => { graceful.uninstall() })

  try {
    await app.listen({ port: config.PORT, host: config.HOST })
  } catch (err) {
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
  // Operators may keep their settings in .env; real environment variables win over it.
  if (existsSync('.env')) process.loadEnvFile('.env')

  const warnings: string[] = []
  let config: Config
  try {
    config = loadConfig(process.env, (w) => warnings.push(w))
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`healow-sync cannot start: ${err.message}\nSee README.md, "Configuration".\n`)
    process.exit(1)
  }
  // One line when the operator can fix the cause (a busy port, an unusable DATA_DIR); anything else is thrown as the bug it is.
  await startServer(config, warnings).catch((err: unknown) => {
    const problem = startupProblem(err, { PORT: config.PORT })
    if (problem === undefined) throw err
    process.stderr.write(`healow-sync cannot start: ${problem}\n`)
    process.exit(1)
  })
}
