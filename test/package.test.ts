import { readFileSync } from 'node:fs'
import semver from 'semver'
import t from 'tap'

interface LockEntry { version?: string, engines?: { node?: string } | string[] }
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, LockEntry> }

// The oldest release of each line that `engines` admits: where npm would first warn EBADENGINE.
const range = new semver.Range(pkg.engines.node)
const oldest = range.set.map((comparators) => semver.minVersion(new semver.Range(comparators.map(String).join(' ')))?.version)

t.test('engines admits Node 20, 22 and 24, and the Node running this test', async (t) => {
  for (const line of [20, 22, 24]) t.ok(semver.intersects(range, `^${line}.0.0`), `a Node ${line} release is admitted`)
  t.ok(range.test(process.version), `${process.version} is admitted`)
})

t.test('every installed package runs on the oldest Node release that engines admits', async (t) => {
  for (const version of oldest) {
    if (version === undefined) continue
    const refused = Object.entries(lock.packages)
      // '' is this project itself.
      .filter(([where, entry]) => where !== '' && !Array.isArray(entry.engines) && entry.engines?.node !== undefined && !semver.satisfies(version, entry.engines.node))
      .map(([where, entry]) => `${where.replace(/^.*node_modules\//, '')}@${entry.version ?? '?'} wants node ${(entry.engines as { node: string }).node}`)
    t.same(refused, [], `Node ${version}: no EBADENGINE`)
  }
})

// What the compiled server loads at run time: bare imports reachable from its entry points, and
// pino-pretty, which pino loads by name as a log transport (LOG_FORMAT=pretty).
const ENTRY_POINTS = ['server.ts', 'cli/healow-sync.ts']
const LOADED_BY_NAME = ['pino-pretty']

function packagesImportedFrom (entryPoints: string[]): Set<string> {
  const root = new URL('../', import.meta.url)
  const seen = new Set<string>()
  const packages = new Set<string>()
  const queue = entryPoints.map((file) => new URL(file, root))
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file.href)) continue
    seen.add(file.href)
    const source = readFileSync(file, 'utf8')
    // Type-only imports vanish in the build; everything else is loaded.
    for (const match of source.matchAll(/^(?!import type|export type)(?:import|export)\b[^'"]*?\bfrom '([^']+)'|\bimport\('([^']+)'\)/gm)) {
      const specifier = match[1] ?? match[2]
      if (specifier === undefined || specifier.startsWith('node:')) continue
      if (specifier.startsWith('.')) queue.push(new URL(specifier.replace(/\.js$/, '.ts'), file))
      else packages.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'))
    }
  }
  return packages
}

t.test('production dependencies are exactly what the server loads', async (t) => {
  const declared = Object.keys((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies)
  t.same(declared.sort(), [...packagesImportedFrom(ENTRY_POINTS), ...LOADED_BY_NAME].sort())
  t.match(readFileSync(new URL('../logging.ts', import.meta.url), 'utf8'), /target: 'pino-pretty'/, 'pino-pretty is still a transport of the server')
})
