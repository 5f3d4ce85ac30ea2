import { getHeapStatistics } from 'node:v8'
import { fullCollection } from './heap-settings.js'

export interface IdleCollectorOptions {
  /** Runs a full garbage collection. */
  collect?: () => void
  /** Bytes the heap has committed, and of them in use. */
  heap?: () => { total: number, used: number }
  /** Committed room past what is in use that is worth giving back, and heap growth that starts anew. */
  spareBytes?: number
  /** At most this many requests in a check period still count as idle (health probes, a stray read). */
  quietRequests?: number
}

const MiB = 1024 * 1024
// V8 uncommits what one collection freed only at the next: the second collection gives it back.
const COLLECTIONS_PER_QUIET_SPELL = 2

function v8Heap (): { total: number, used: number } {
  const { total_heap_size: total, used_heap_size: used } = getHeapStatistics()
  return { total, used }
}

/**
 * Gives memory back once the gateway goes quiet. V8 returns what a burst of work left behind (the
 * directory import, a load of Bundle reads, a sync) only when its memory reducer notices that the
 * process is idle, which on a small box took from 20 s to minutes, and its heap stayed 40 MiB above
 * what lives meanwhile. Collections in a quiet moment (~20 ms each, with nobody waiting) shrink the
 * heap at once. `check()` runs periodically; a period with more than `quietRequests` requests is
 * busy, and a collection then would only pause them. Two collections per quiet spell at most: once
 * the heap has grown again, a new spell may follow.
 */
export class IdleCollector {
  #requests = 0
  #afterLastCollection = 0
  #collectionsThisSpell = 0
  readonly #collect: () => void
  readonly #heap: () => { total: number, used: number }
  readonly #spareBytes: number
  readonly #quietRequests: number

  constructor (o: IdleCollectorOptions = {}) {
    this.#collect = o.collect ?? fullCollection()
    this.#heap = o.heap ?? v8Heap
    this.#spareBytes = o.spareBytes ?? 8 * MiB
    this.#quietRequests = o.quietRequests ?? 10
  }

  noteRequest (): void {
    this.#requests++
  }

  /** Collects if the last period was quiet and the heap holds spare room; says whether it did. */
  check (): boolean {
    const quiet = this.#requests <= this.#quietRequests
    this.#requests = 0
    const { total, used } = this.#heap()
    if (total > this.#afterLastCollection + this.#spareBytes) this.#collectionsThisSpell = 0
    const spellDone = this.#collectionsThisSpell >= COLLECTIONS_PER_QUIET_SPELL
    if (!quiet || total - used < this.#spareBytes || spellDone) return false
    this.#collect()
    this.#collectionsThisSpell++
    this.#afterLastCollection = this.#heap().total
    return true
  }
}
