// Everything the routes of one running simulator share: options, the switchable
// quirks and faults, counters, and the practices with their records.
import { Counters } from './counters.js'
import type { Faults, Quirks, ResolvedOptions } from './options.js'
import { PatientRecords } from './patient-records.js'
import { buildPractices, type Practice } from './practices.js'
import { PracticeRateLimit } from './rate-limit.js'

export interface SimulatorState {
  options: ResolvedOptions
  /** `http://{host}:{port}` of the main listener. */
  url: string
  /** Origin of the second listener that the aliasHostLinks quirk points links at. */
  aliasBase: string
  quirks: Quirks
  faults: Faults
  counters: Counters
  rateLimit: PracticeRateLimit
  practices: Practice[]
  practiceById: (id: string) => Practice | undefined
  /** The practice whose FHIR base is exactly `base` (what `aud` must be). */
  practiceByBase: (base: string) => Practice | undefined
  records: (practice: Practice) => PatientRecords
  /** jti of every access token issued, and of those force-expired. */
  accessTokens: { issued: Set<string>; expired: Set<string> }
}

export function createState (options: ResolvedOptions, url: string, aliasBase: string): SimulatorState {
  const quirks = { ...options.quirks }
  const practices = buildPractices(options.practices, url, options.seed)
  const records = new Map(practices.map((p) => [p.id, new PatientRecords(p, options.seed, options.resourcesPerType)]))
  return {
    options,
    url,
    aliasBase,
    quirks,
    faults: { ...options.faults },
    counters: new Counters(),
    rateLimit: new PracticeRateLimit(() => quirks.rateLimitPerMinute),
    practices,
    practiceById: (id) => practices.find((p) => p.id === id),
    practiceByBase: (base) => practices.find((p) => p.fhirBase === base),
    records: (practice) => records.get(practice.id)!,
    accessTokens: { issued: new Set(), expired: new Set() }
  }
}

/** Clears the counters and the rate-limit windows (they count the same requests). */
export function resetCounters (state: SimulatorState): void {
  state.counters.reset()
  state.rateLimit.reset()
}
