import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Asset { body: Buffer, type: string, etag: string }

const FILES: Record<string, string> = {
  'style.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml'
}

/**
 * The repository's assets/ folder, found upwards from this module: it sits two levels up when
 * run from source (lib/pages/) and three when run compiled (dist/lib/pages/).
 */
function assetsDir (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'assets')
    if (existsSync(path.join(candidate, 'style.css'))) return candidate
    dir = path.dirname(dir)
  }
  throw new Error('assets/ (style.css, app.js, favicon.svg) not found above lib/pages')
}

/** The stylesheet, the script and the icon, read once at start-up. */
export function loadAssets (): Map<string, Asset> {
  const dir = assetsDir()
  return new Map(Object.entries(FILES).map(([name, type]) => {
    const body = readFileSync(path.join(dir, name))
    return [name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` }]
  }))
}
