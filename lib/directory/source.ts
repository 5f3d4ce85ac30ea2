import { createReadStream } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { BundleEntrySplitter } from './bundle-stream.js'
import { TimeSlices } from './slices.js'
import { fetch } from '../http-client.js'

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

/**
 * Reads the directory document from a URL or a file path (or a file: URL) as its bytes arrive, handing over each
 * entry of the Bundle as soon as it is complete. Throws DirectoryFormatError when the document is not a whole,
 * valid Bundle — possibly after some entries were handed over, which the caller must then drop.
 */
export async function readDirectoryEntries (
  location: string,
  onEntry: (entry: unknown) => void,
  options: ReadSourceOptions = {}
): Promise<void> {
  const splitter = new BundleEntrySplitter(onEntry)
  const decoder = new TextDecoder()
  const slices = new TimeSlices()
  for await (const chunk of isHttpLocation(location) ? download(location, options) : readLocalFile(location, options)) {
    splitter.write(decoder.decode(chunk, { stream: true }))
    // The chunks of a fast download come one after the other without a turn of the event loop in between.
    await slices.pauseIfDue()
  }
  splitter.write(decoder.decode())
  splitter.end()
}

/** The chunks as they come, until there are more than `maxBytes` of them: then an error naming `what`. */
async function * upTo (
  chunks: AsyncIterable<Uint8Array>,
  maxBytes: number,
  what: string,
  onProgress?: (received: number) => void
): AsyncGenerator<Uint8Array> {
  let received = 0
  for await (const chunk of chunks) {
    received += chunk.byteLength
    if (received > maxBytes) throw new Error(`${what} is more than the ${maxBytes} bytes accepted`)
    onProgress?.(received)
    yield chunk
  }
}

/** The file a directory location that is not fetched over HTTP names (a path or a file: URL). */
export function localFilePath (location: string): string {
  return location.startsWith('file:') ? fileURLToPath(location) : location
}

function readLocalFile (location: string, options: ReadSourceOptions): AsyncGenerator<Uint8Array> {
  const path = localFilePath(location)
  const file = createReadStream(path, { signal: options.signal }) as AsyncIterable<Buffer>
  return upTo(file, options.maxBytes ?? DEFAULT_MAX_BYTES, `the directory file ${path}`)
}

async function * download (url: string, options: ReadSourceOptions): AsyncGenerator<Uint8Array> {
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
  yield * upTo(response.body, maxBytes, `the directory at ${url}`, (received) => options.onProgress?.(received, announced))
}
