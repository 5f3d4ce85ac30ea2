import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// Every benchmark in turn, each in its own process so one's heap and sockets do not skew the next.
// `npm run bench -- directory-search` runs the ones whose file name contains a given word.
const here = fileURLToPath(new URL('.', import.meta.url))
const benchmarks = ['allocations.ts', 'directory-search.ts', 'fhir-proxy.ts', 'memory.ts', 'metrics.ts', 'stores.ts', 'sync.ts'].filter((file) => existsSync(here + file))
const only = process.argv.slice(2)
let failed = 0
for (const file of benchmarks.filter((f) => only.length === 0 || only.some((word) => f.includes(word)))) {
  process.stdout.write(`\n## ${file}\n\n`)
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', here + file], { stdio: 'inherit' })
  if (run.status !== 0) failed++
}
process.exit(failed === 0 ? 0 : 1)
