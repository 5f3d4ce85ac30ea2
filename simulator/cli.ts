// `npm run simulator -- --port 4100 [--auto-login] [--client public|confidential] …`
// Prints what the gateway needs as KEY=VALUE lines (a .env file or `export` takes
// them), then the practices as # comments; stops cleanly on SIGINT / SIGTERM.
import { describeForGateway, parseCliOptions, USAGE } from './cli-options.js'
import { startSimulator } from './index.js'

let parsed
try {
  parsed = parseCliOptions(process.argv.slice(2))
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`)
  process.exit(2)
}
if (parsed.help) {
  console.log(USAGE)
  process.exit(0)
}
const sim = await startSimulator(parsed.options)
console.log(describeForGateway(sim, parsed.client))
const stop = () => { sim.close().then(() => process.exit(0), () => process.exit(1)) }
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
