import { existsSync } from 'node:fs'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './plugins/config.js'

// Operators may keep their settings in .env; real environment variables win over it.
if (existsSync('.env')) process.loadEnvFile('.env')

const warnings: string[] = []
let config
try {
  config = loadConfig(process.env, (w) => warnings.push(w))
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
