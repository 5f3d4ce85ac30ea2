import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

// The layout is the architecture: lib/ is the domain and knows nothing of Fastify; plugins/ wire
// it in; schemas/ are the contract and depend on nothing of ours; nothing shipped reaches into
// test/, bench/ or simulator/ (a production install has none of them).
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

function sourceFiles (dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = path.join(dir, name)
    if (statSync(path.join(root, rel)).isDirectory()) return sourceFiles(rel)
    return rel.endsWith('.ts') ? [rel] : []
  })
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** What a file imports: packages by name, our own files as paths from the repository root. */
function importsOf (file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8')
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]).map((spec) =>
    spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : spec)
}

const TOP_LEVEL = readdirSync(root).filter((name) => name.endsWith('.ts'))
const SHIPPED = [...TOP_LEVEL, ...['lib', 'plugins', 'routes', 'schemas'].flatMap(sourceFiles)]
const isPackage = (spec: string, name: string) => spec === name || spec.startsWith(`${name}/`)

t.test('lib/ imports nothing of Fastify', async (t) => {
  const offending = sourceFiles('lib').flatMap((file) => importsOf(file)
    .filter((spec) => isPackage(spec, 'fastify') || isPackage(spec, 'fastify-plugin') || spec.startsWith('@fastify/') || spec.startsWith('plugins/') || spec.startsWith('routes/'))
    .map((spec) => `${file} -> ${spec}`))
  t.same(offending, [])
})

t.test('nothing shipped imports test/, bench/ or simulator/', async (t) => {
  const shippedFiles = SHIPPED.filter((file) => !['demo.ts'].includes(file))
  t.ok(shippedFiles.length > 40, `${shippedFiles.length} files read`)
  const offending = shippedFiles.flatMap((file) => importsOf(file)
    .filter((spec) => /^(test|bench|simulator)\//.test(spec))
    .map((spec) => `${file} -> ${spec}`))
  t.same(offending, [])
})

t.test('schemas/ import nothing from plugins/, routes/ or lib/', async (t) => {
  const offending = sourceFiles('schemas').flatMap((file) => importsOf(file)
    .filter((spec) => /^(plugins|routes|lib)\//.test(spec))
    .map((spec) => `${file} -> ${spec}`))
  t.same(offending, [])
})

t.test('the check itself sees imports of every form', async (t) => {
  t.same(importsOf('plugins/vault.ts').filter((s) => s.startsWith('lib/')), ['lib/tokens/cipher.js', 'lib/tokens/key-file.js', 'lib/tokens/vault.js'])
  t.ok(importsOf('lib/store/open.ts').includes('lib/store/postgres.js'), 'a dynamic import counts')
})
