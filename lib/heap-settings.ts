import { setFlagsFromString } from 'node:v8'

/**
 * V8 settings for a small, long-lived server, applied by the process to itself (plain
 * `node dist/server.js` needs no options). Both flags are read by V8 whenever it sizes its heap, so
 * setting them at run time takes effect, but they must be set before the modules load: loading them
 * is what first grows the heap. Measured effect and CPU cost: BENCHMARKS.md, "Where the memory goes".
 */
export const LEAN_HEAP_FLAGS = [
  // The young generation stays at its initial two 1 MB semi-spaces. By default it doubles whenever
  // many objects survive a scavenge, up to two 16 MB ones, and gives that back only when V8 judges the
  // process idle, often minutes later: 30 MB of resident memory for a heap whose live part is ~30 MB.
  '--semi-space-growth-factor=1',
  // The old generation is collected once it has grown 20% past what the last full collection kept,
  // instead of up to 4× as much when V8 sees spare memory: under 50 concurrent Bundle reads that spare
  // room filled with garbage and stayed resident.
  '--heap-growing-percent=20'
]

export function applyLeanHeapSettings (): void {
  for (const flag of LEAN_HEAP_FLAGS) setFlagsFromString(flag)
}
