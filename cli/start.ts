import { SERVER_SETTINGS, loadConfig } from '../lib/config.js'
import { UsageError, type Command } from './command.js'

export const start: Command = {
  name: 'start',
  args: '',
  summary: 'Starts the gateway: listens on HOST:PORT until SIGTERM or SIGINT, then finishes in-flight requests and exits.',
  settings: SERVER_SETTINGS,
  async run (args, env) {
    if (args.length > 0) throw new UsageError(`start takes no arguments, got "${args.join(' ')}"`)
    const warnings: string[] = []
    const config = loadConfig(env, (w) => warnings.push(w))
    // Loaded here, so that the other commands do not load the whole server.
    const { startServer } = await import('../server.js')
    await startServer(config, warnings)
  }
}
