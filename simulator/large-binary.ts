// A Binary of any size (e.g. 100 MB) streamed as FHIR JSON without ever being held
// in memory, for benchmarks of the gateway's streaming proxy.
import { Readable } from 'node:stream'
import { seededRandom } from './prng.js'

export const LARGE_BINARY_ID = 'large'

/** Raw bytes per chunk: a multiple of 3, so the base64 chunks concatenate into valid base64. */
const CHUNK_BYTES = 3 * 21_846

export function largeBinaryBody (bytes: number, seed: number): { length: number; stream: Readable } {
  const random = seededRandom(seed, LARGE_BINARY_ID)
  const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, bytes))
  for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(random() * 256)
  const prefix = `{"resourceType":"Binary","id":"${LARGE_BINARY_ID}","contentType":"application/octet-stream","data":"`
  const suffix = '"}'
  const length = Buffer.byteLength(prefix) + 4 * Math.ceil(bytes / 3) + suffix.length

  function * pieces (): Generator<string> {
    yield prefix
    const fullChunk = chunk.toString('base64')
    let left = bytes
    for (; left >= chunk.length; left -= chunk.length) yield fullChunk
    if (left > 0) yield chunk.subarray(0, left).toString('base64')
    yield suffix
  }
  return { length, stream: Readable.from(pieces()) }
}
