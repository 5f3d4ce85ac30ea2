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

// A plugin wires a lib/ module in; anything a plugin exported besides types would be domain code
// other files reach into plugins/ for.
const EXPORT = /(?:^|\n)export\s+(default\s+)?(declare\s+)?(type|interface|const|let|var|function|async\s+function|class|enum|abstract\s+class|\{|\*)?/g

t.test('every file in plugins/ default-exports a fastify-plugin and otherwise exports types only', async (t) => {
  const files = sourceFiles('plugins')
  t.ok(files.length > 15, `${files.length} plugins read`)
  const offending = files.flatMap((file) => {
    const text = readFileSync(path.join(root, file), 'utf8')
    const problems: string[] = []
    if (!importsOf(file).includes('fastify-plugin') || !/(?:^|\n)export default fp\b/.test(text)) problems.push(`${file}: no default export of fp(…)`)
    for (const match of text.matchAll(EXPORT)) {
      const [, isDefault, , kind] = match
      if (isDefault) continue
      if (kind === 'type' || kind === 'interface') continue
      problems.push(`${file}: exports ${(kind ?? '?').trim()} (${text.slice(match.index, match.index + 60).trim().split('\n')[0]})`)
    }
    return problems
  })
  t.same(offending, [])
})

t.test('the plugins check sees a value export', async (t) => {
  const sample = 'export const X = 1\nexport type Y = 2\nexport interface Z {}\nexport default fp(async () => {})\nexport { a }\nexport class C {}\n'
  const kinds = [...sample.matchAll(EXPORT)].filter((m) => !m[1]).map((m) => m[3]?.trim())
  t.same(kinds, ['const', 'type', 'interface', '{', 'class'])
})
