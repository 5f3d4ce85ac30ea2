/**
 * Values worked out once per key and kept, up to `max` keys; past that everything is forgotten at
 * once. For what every proxied request would otherwise recompute from a practice's FHIR base: the
 * keys are as many as the practices in use, but a bound keeps a flood of odd bases from growing it.
 */
export class BoundedCache<V> {
  readonly #values = new Map<string, V>()
  constructor (private readonly max = 10_000) {}

  get (key: string, make: (key: string) => V): V {
    let value = this.#values.get(key)
    if (value === undefined) {
      value = make(key) // a throw leaves nothing behind
      if (this.#values.size >= this.max) this.#values.clear()
      this.#values.set(key, value)
    }
    return value
  }
}
