// A small seeded PRNG so that the same seed gives the same synthetic records on
// every run and every machine (Math.random cannot be seeded).

export type Random = () => number

/** FNV-1a over the parts, so any mix of strings and numbers becomes a 32-bit seed. */
function hashParts (parts: ReadonlyArray<string | number>): number {
  let hash = 0x811c9dc5
  for (const char of parts.join('\u0000')) {
    hash ^= char.codePointAt(0)!
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** mulberry32: fast, good enough for test data, and fully determined by its seed. */
export function seededRandom (...parts: Array<string | number>): Random {
  let state = hashParts(parts)
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function pick<T> (random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]
}

export function randomInt (random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1))
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** An opaque-looking id, like the long ids eCW hands out. */
export function randomId (random: Random, length: number): string {
  let id = ''
  for (let i = 0; i < length; i++) id += pick(random, [...ID_ALPHABET])
  return id
}
