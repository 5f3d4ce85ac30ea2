import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, processEnvironment } from './plugins/config.js'

/**
 * Starts the gateway as an operator runs it (`node dist/server.js`, `healow-sync start`): validates
 * the whole configuration, listens, and shuts down gracefully on SIGTERM or SIGINT.
 */
export async function startServer (source: NodeJS.ProcessEnv = processEnvironment()): Promise<FastifyInstance> {
  const warnings: string[] = []
  let config
  try {
    config = loadConfig(source, (w) => warnings.push(w))
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`healow-sync cannot start: ${err.message}\nSee README.md, "Configuration".\n`)
    process.exit(1)
  }

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
    app.log.info({ mode: config.mode, redirectUri: config.redirectUri }, 'healow-sync is ready')
  } catch (err) {
    app.log.fatal({ err }, 'could not start listening')
    process.exit(1)
  }
  return app
}

// Run directly (`node dist/server.js`) it starts; imported (by the CLI) it only exports.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await startServer()
