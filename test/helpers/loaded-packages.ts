// Run in a child process (node --import tsx): builds the gateway from the environment given as JSON in
// argv[2], asks it for each URL in argv[3..] in turn, and prints, as one JSON line per step, the packages
// whose CommonJS files are loaded (after start-up, then after each URL). A test of what a mode loads
// needs a process of its own: its own imports would count otherwise.
import { createRequire } from 'node:module'
import { buildApp } from '../../app.js'
import { loadConfig } from '../../lib/config.js'

const require = createRequire(import.meta.url)

function loadedPackages (): string[] {
  const names = new Set<string>()
  for (const file of Object.keys(require.cache)) {
    const match = file.match(/.*node_modules\/((?:@[^/]+\/)?[^/]+)\//)
    if (match) names.add(match[1])
  }
  return [...names].sort()
}

const app = await buildApp(loadConfig(JSON.parse(process.argv[2]) as Record<string, string>))
await app.ready()
process.stdout.write(JSON.stringify({ step: 'started', packages: loadedPackages() }) + '\n')
for (const url of process.argv.slice(3)) {
  const answer = await app.inject({ url })
  process.stdout.write(JSON.stringify({ step: url, status: answer.statusCode, packages: loadedPackages() }) + '\n')
}
await app.close()
