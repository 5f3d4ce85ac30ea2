/** How a refresh ended: the label values of healow_token_refreshes_total. */
export type RefreshOutcome = 'refreshed' | 'invalid_grant' | 'no_refresh_token' | 'rejected' | 'failed'

export type SyncOutcome = 'completed' | 'failed' | 'cancelled'

/**
 * What the gateway counts for Prometheus. Labels carry route patterns, practice codes, statuses and
 * outcomes only: never a patient, a connection id, a token or a key (a practice code names a clinic,
 * not a person). The recording methods are what the plugins call; `NO_METRICS` is the same
 * interface doing nothing, when METRICS_PORT is not set (prom-client is then never loaded: its
 * registry and default collectors cost about 1 MB).
 */
export interface MetricsRecorder {
  request (method: string, route: string, status: number): void
  upstream (practiceId: string, kind: 'fhir' | 'token', seconds: number, status: number | undefined): void
  budget (practiceId: string, decision: 'granted' | 'refused' | 'upstream_429'): void
  refresh (outcome: RefreshOutcome): void
  syncRun (outcome: SyncOutcome, seconds: number): void
}

export const NO_METRICS: MetricsRecorder = {
  request () {},
  upstream () {},
  budget () {},
  refresh () {},
  syncRun () {}
}
