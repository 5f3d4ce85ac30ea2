import { PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const MiB = 1024 * 1024

/**
 * V8 settings for a small, long-lived server, applied by the process to itself (plain
 * `node dist/server.js` needs no options). V8 reads them whenever it sizes its heap, so setting them
 * at run time takes effect; they are set before the modules load, as loading them is what first
 * grows the heap. Measured effect and CPU cost: BENCHMARKS.md, "Where the memory goes".
 */
export const LEAN_HEAP_FLAGS = [
  // The old generation is collected once it has grown 20% past what the last full collection kept,
  // instead of up to 4× as much when V8 sees spare memory: under 50 concurrent Bundle reads that room
  // filled with garbage and stayed resident (peak 233 → 184 MiB, CPU per proxied read unchanged).
  '--heap-growing-percent=20'
]

/**
 * Where the young generation stops growing: 2 × 4 MiB, against V8's default maximum of 2 × 16 MiB
 * on Node 20 and 22. Under 50 concurrent Bundle reads this is 35 MiB less at the peak for up to 5%
 * more CPU per read; at the initial 2 × 1 MiB every in-flight read's objects were promoted and a
 * read cost 30% more CPU. Node 24's V8 grows its young generation whatever the growth factor, so
 * there the cap is not installed.
 */
export const YOUNG_GENERATION_SEMI_SPACE_CAP = 4 * MiB

/** Node options with which the operator sized the young generation; theirs win over the cap. */
const YOUNG_GENERATION_OPTION = /--(max[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)\b/

/**
 * Whether this V8 reads the growth factor when it grows the young generation. V8 13 (Node 24) sizes it
 * by what survives instead, so there the cap would only cost a look at the heap after every collection.
 */
export const GROWTH_FACTOR_HONOURED = Number(process.versions.v8.split('.')[0]) < 13

/** What the young generation's semi-space holds room for now, in bytes. */
export function semiSpaceCapacity (): number {
  const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
  return newSpace ? newSpace.space_used_size + newSpace.space_available_size : 0
}

export interface YoungGenerationCapOptions {
  capBytes?: number
  /** The semi-space's current capacity in bytes. */
  capacity?: () => number
  /** Sets V8's `--semi-space-growth-factor`. */
  setGrowthFactor?: (factor: number) => void
}

/**
 * Caps the young generation while the process runs. V8 fixes its largest size at start-up
 * (`--max-semi-space-size`, a Node option), but reads by how much to grow it
 * (`--semi-space-growth-factor`, new size = factor × size) each time it grows. After every
 * collection the factor is set from the size now: 2 while doubling stays within the cap, 1 once
 * there. V8 shrinks the young generation when the process is quiet, and it grows back the same way.
 * The factor is set a moment after a collection, not during it, so two growths in a row can
 * overshoot the cap by one doubling; 2 rather than a jump straight to the cap keeps that at 2×.
 */
export class YoungGenerationCap {
  #factor = 0
  readonly #capBytes: number
  readonly #capacity: () => number
  readonly #setGrowthFactor: (factor: number) => void

  constructor (o: YoungGenerationCapOptions = {}) {
    this.#capBytes = o.capBytes ?? YOUNG_GENERATION_SEMI_SPACE_CAP
    this.#capacity = o.capacity ?? semiSpaceCapacity
    this.#setGrowthFactor = o.setGrowthFactor ?? ((factor) => setFlagsFromString(`--semi-space-growth-factor=${factor}`))
  }

  /** Sets the growth factor for the young generation's size now; returns it. */
  adjust (): number {
    const factor = 2 * this.#capacity() <= this.#capBytes ? 2 : 1
    if (factor !== this.#factor) {
      this.#setGrowthFactor(factor)
      this.#factor = factor
    }
    return factor
  }
}

/**
 * Applies the lean heap settings. `nodeOptions` is what the process was started with (its
 * `execArgv` and `NODE_OPTIONS`): where the operator sized the young generation, it stays theirs.
 */
export function applyLeanHeapSettings (nodeOptions: string): void {
  for (const flag of LEAN_HEAP_FLAGS) setFlagsFromString(flag)
  if (!GROWTH_FACTOR_HONOURED || YOUNG_GENERATION_OPTION.test(nodeOptions)) return
  const cap = new YoungGenerationCap()
  cap.adjust()
  new PerformanceObserver(() => cap.adjust()).observe({ entryTypes: ['gc'] })
}

let collectGarbage: (() => void) | undefined

/**
 * A full garbage collection, on demand. `--expose-gc` set at run time puts `gc` into contexts
 * created afterwards only, so the app's own global never gets one.
 */
export function fullCollection (): () => void {
  if (!collectGarbage) {
    setFlagsFromString('--expose-gc')
    collectGarbage = runInNewContext('gc') as () => void
  }
  return collectGarbage
}
