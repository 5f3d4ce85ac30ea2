import fp from 'fastify-plugin'
import { IdleCollector } from '../lib/idle-collection.js'

// Long enough that a burst of reads with short pauses counts as one busy spell.
const CHECK_EVERY_MS = 5_000

/** Gives the heap back after a burst of work, once requests have gone quiet (lib/idle-collection.ts). */
export default fp(async (app) => {
  const collector = new IdleCollector()
  // On the HTTP server itself rather than as a Fastify hook: nothing added to each request's route.
  app.server.on('request', () => collector.noteRequest())
  const timer = setInterval(() => collector.check(), CHECK_EVERY_MS).unref()
  app.addHook('onClose', async () => clearInterval(timer))
}, { name: 'idle-collection' })
