import { existsSync } from 'node:fs'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './plugins/config.js'
import { startupProblem } from './lib/startup-problems.js'

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

/** Ends start-up with one line when the operator can fix the cause; anything else is thrown as the bug it is. */
function stopOnStartupProblem (err: unknown): never {
  const problem = startupProblem(err, { PORT: config.PORT })
  if (problem === undefined) throw err
  process.stderr.write(`healow-sync cannot start: ${problem}\n`)
  process.exit(1)
}

const app = await buildApp(config).catch(stopOnStartupProblem)
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
  await app.close().catch(() => {})
  stopOnStartupProblem(err)
}
