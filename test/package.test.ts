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
