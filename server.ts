// First: it sets V8 flags that must be in place before the modules below load.
import './lib/process-settings.js'
// Second: it loads undici before anything else can, so that Node's own copy is not loaded beside it.
import './lib/http-client.js'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { existsSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, processEnvironment, type Config } from './lib/config.js'
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
  const app = await buildApp(config).catch(rethrowStartupProblem(config))
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
    // Its timers and database must not keep a failed process alive.
    await app.close().catch(() => {})
    rethrowStartupProblem(config)(err)
  }
  app.log.info({ mode: config.mode, redirectUri: config.redirectUri }, 'healow-sync is ready')
  return app
}

/** A start-up failure the operator can fix (a busy port, an unusable DATA_DIR), in one line naming the setting. */
export class StartupProblem extends Error {}

/** Turns a failure the operator can fix into a StartupProblem; anything else is thrown as the bug it is. */
function rethrowStartupProblem (config: Config): (err: unknown) => never {
  return (err) => {
    const problem = startupProblem(err, { PORT: config.PORT })
    throw problem === undefined ? err : new StartupProblem(problem)
  }
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
  await startServer(config, warnings).catch((err: unknown) => {
    if (!(err instanceof StartupProblem)) throw err
    process.stderr.write(`healow-sync cannot start: ${err.message}\n`)
    process.exit(1)
  })
}
