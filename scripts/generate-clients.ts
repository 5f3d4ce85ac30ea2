import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'
import { createClient as heyApiClient } from '@hey-api/openapi-ts'
import { OPENAPI_PATH } from './openapi.js'

/** The committed types that openapi-fetch's `createClient<paths>()` is built on. */
export const TYPESCRIPT_CLIENT_PATH = fileURLToPath(new URL('../clients/healow-sync.d.ts', import.meta.url))

/** What `openapi-typescript openapi.yaml -o clients/healow-sync.d.ts` writes, from the committed document. */
export async function generateTypescriptClient (): Promise<string> {
  return COMMENT_HEADER + astToString(await openapiTS(readFileSync(OPENAPI_PATH, 'utf8')))
}

/**
 * A second, independent generator (@hey-api/openapi-ts with its fetch client), written into
 * `outDir` as an ES module package: proof that the document is not shaped around one tool.
 */
export async function generateHeyApiClient (outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true })
  await heyApiClient({
    input: OPENAPI_PATH,
    output: { path: outDir },
    plugins: ['@hey-api/client-fetch'],
    logs: { level: 'silent' }
  } as Parameters<typeof heyApiClient>[0])
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(TYPESCRIPT_CLIENT_PATH, await generateTypescriptClient())
  process.stdout.write(`wrote ${path.relative(process.cwd(), TYPESCRIPT_CLIENT_PATH)}\n`)
}
