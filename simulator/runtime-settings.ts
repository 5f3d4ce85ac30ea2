// Run-time changes to quirks and faults, from code or over HTTP: only known keys,
// each with the type of its current value (rateLimitPerMinute may also be null).
import type { Faults, Quirks } from './options.js'

export function applySettings<T extends Quirks | Faults> (target: T, patch: unknown): string | undefined {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return 'expected a JSON object'
  const entries = Object.entries(patch)
  for (const [key, value] of entries) {
    if (!(key in target)) return `unknown setting ${key}`
    const current: unknown = Reflect.get(target, key)
    const nullable = key === 'rateLimitPerMinute'
    if (!(typeof value === typeof current || (nullable && (value === null || typeof value === 'number')))) {
      return `${key} must be a ${nullable ? 'number or null' : typeof current}`
    }
  }
  Object.assign(target, Object.fromEntries(entries))
  return undefined
}
