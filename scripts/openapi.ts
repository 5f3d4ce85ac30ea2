import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../app.js'
import { loadConfig } from '../lib/config.js'

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi.yaml', import.meta.url))

/**
 * The document as the code describes it, independent of the machine: a fixed documentation
 * configuration, a throw-away data directory, and nothing fetched.
 */
export async function generateOpenApiYaml (): Promise<string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'healow-sync-openapi-'))
  try {
    const config = loadConfig({
      HEALOW_CLIENT_ID: 'documentation',
      PUBLIC_URL: 'https://healow-sync.example.org',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      HEALOW_DIRECTORY_URL: path.join(dataDir, 'no-directory.json'),
      // The operator routes exist only with a token; the document describes them.
      ADMIN_TOKEN: 'documentation-only-admin-token-0000000000'
    })
    const app = await buildApp(config)
    await app.ready()
    const yaml = app.swagger({ yaml: true })
    await app.close()
    return yaml
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_PATH, await generateOpenApiYaml())
  process.stdout.write(`wrote ${path.relative(process.cwd(), OPENAPI_PATH)}\n`)
}
