import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { DirectoryFormatError } from './bundle.js'

export interface ReadSourceOptions {
  /** Gives up on a download that takes longer (the published directory is about 15 MB). */
  timeoutMs?: number
  /** Refuses a larger document, so a wrong URL cannot exhaust memory. */
  maxBytes?: number
  signal?: AbortSignal
  /** Called as the bytes arrive; `total` when the server announced a length. */
  onProgress?: (received: number, total: number | undefined) => void
}

const DEFAULT_TIMEOUT_MS = 120_000
const DEFAULT_MAX_BYTES = 100 * 1024 * 1024

/** Whether a directory location is fetched over HTTP(S) rather than read from a file. */
export function isHttpLocation (location: string): boolean {
  return /^https?:\/\//i.test(location)
}

/** Reads the directory document from a URL or a file path (or a file: URL) and parses its JSON. */
export async function readDirectorySource (location: string, options: ReadSourceOptions = {}): Promise<unknown> {
  const text = isHttpLocation(location)
    ? await download(location, options)
    : await readFile(location.startsWith('file:') ? fileURLToPath(location) : location, 'utf8')
  try {
    return JSON.parse(text)
  } catch {
    throw new DirectoryFormatError('the directory is not valid JSON')
  }
}

async function download (url: string, options: ReadSourceOptions): Promise<string> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
  const response = await fetch(url, { signal, headers: { accept: 'application/fhir+json, application/json' } })
    .catch((err: Error & { cause?: { code?: string, message?: string } }) => {
      // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, a timeout…).
      throw new Error(`cannot reach ${url}: ${err.cause?.code ?? err.cause?.message ?? err.message}`)
    })
  if (!response.ok || response.body === null) {
    await response.body?.cancel()
    throw new Error(`HTTP ${response.status} from ${url}`)
  }
  const announced = Number(response.headers.get('content-length')) || undefined
  if (announced !== undefined && announced > maxBytes) {
    await response.body.cancel()
    throw new Error(`the directory at ${url} is ${announced} bytes, more than the ${maxBytes} accepted`)
  }
  const chunks: Uint8Array[] = []
  let received = 0
  for await (const chunk of response.body) {
    received += chunk.byteLength
    if (received > maxBytes) throw new Error(`the directory at ${url} is more than the ${maxBytes} bytes accepted`)
    chunks.push(chunk)
    options.onProgress?.(received, announced)
  }
  return Buffer.concat(chunks).toString('utf8')
}
