/** A stored time (ms since the epoch, or null for "never") as the API writes it: ISO 8601. */
export function isoTime (ms: number): string
export function isoTime (ms: number | null): string | null
export function isoTime (ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}
