import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { TYPESCRIPT_CLIENT_PATH, generateHeyApiClient, generateTypescriptClient } from '../../scripts/generate-clients.js'

const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url))

t.test('the committed client types are what openapi-typescript generates from openapi.yaml', async (t) => {
  const generated = await generateTypescriptClient()
  t.ok(generated === readFileSync(TYPESCRIPT_CLIENT_PATH, 'utf8'), 'clients/healow-sync.d.ts is stale: run `npm run client` and commit the result')
})

t.test('@hey-api/openapi-ts generates a client from the document, and it compiles', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'healow-sync-hey-api-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  await generateHeyApiClient(dir)
  // Strict, and with the generated code's own declarations checked too: the client a third party would compile.
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      types: [],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      verbatimModuleSyntax: true,
      isolatedModules: true
    },
    include: ['**/*.ts']
  }))
  const sdk = readFileSync(path.join(dir, 'sdk.gen.ts'), 'utf8')
  for (const operationId of ['claimConnection', 'readFhir', 'searchFhir', 'mereProxyPost']) t.match(sdk, `export const ${operationId} =`, `an SDK function for ${operationId}`)
  const compiled = await promisify(execFile)(process.execPath, [TSC, '-p', dir], { timeout: 60_000 })
    .then(() => ({ code: 0, out: '' }), (e: { code: number, stdout: string }) => ({ code: e.code, out: e.stdout }))
  t.equal(compiled.code, 0, compiled.out || 'tsc: no errors')
})
