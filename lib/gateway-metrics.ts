import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { MetricsRecorder, RefreshOutcome, SyncOutcome } from './metrics.js'

/** Upstream answers by class, so a label never carries more than five values. */
function statusClass (status: number | undefined): string {
  return status === undefined ? 'error' : `${Math.floor(status / 100)}xx`
}

/** What the gateway counts, in Prometheus' form (see MetricsRecorder for what labels may carry). */
export class GatewayMetrics implements MetricsRecorder {
  readonly registry = new Registry()
  readonly #requests: Counter<'method' | 'route' | 'status'>
  readonly #upstream: Histogram<'practice' | 'kind' | 'status'>
  readonly #budget: Counter<'practice' | 'decision'>
  readonly #refreshes: Counter<'outcome'>
  readonly #syncRuns: Counter<'outcome'>
  readonly #syncDuration: Histogram<'outcome'>

  /** `connectionsByStatus` is read at each scrape (one grouped count in the database). */
  constructor (connectionsByStatus: () => Promise<Record<string, number>>) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry, prefix: 'healow_sync_' })
    this.#requests = new Counter({ name: 'healow_sync_http_requests_total', help: 'Requests answered, by method, route pattern and status', labelNames: ['method', 'route', 'status'], registers })
    this.#upstream = new Histogram({
      name: 'healow_sync_upstream_duration_seconds',
      help: "Time until Healow's response headers, per practice, by kind (fhir, token) and status class",
      labelNames: ['practice', 'kind', 'status'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    })
    this.#budget = new Counter({ name: 'healow_sync_budget_requests_total', help: "Requests for a slot in a practice's Healow budget: granted, refused (answered 429 here), or upstream_429 (Healow refused anyway)", labelNames: ['practice', 'decision'], registers })
    this.#refreshes = new Counter({ name: 'healow_sync_token_refreshes_total', help: 'Token refreshes by outcome', labelNames: ['outcome'], registers })
    this.#syncRuns = new Counter({ name: 'healow_sync_sync_runs_total', help: 'Sync runs by outcome', labelNames: ['outcome'], registers })
    this.#syncDuration = new Histogram({ name: 'healow_sync_sync_duration_seconds', help: 'Duration of sync runs by outcome', labelNames: ['outcome'], buckets: [1, 5, 15, 60, 300, 900, 3600], registers })
    // Registered with the registry, which reads it at each scrape.
    // eslint-disable-next-line no-new -- the registry holds and collects this gauge; nothing else needs it
    new Gauge({
      name: 'healow_sync_connections',
      help: 'Connections by status',
      labelNames: ['status'],
      registers,
      async collect () {
        for (const [status, count] of Object.entries(await connectionsByStatus())) this.set({ status }, count)
      }
    })
  }

  request (method: string, route: string, status: number): void {
    this.#requests.inc({ method, route, status })
  }

  upstream (practiceId: string, kind: 'fhir' | 'token', seconds: number, status: number | undefined): void {
    this.#upstream.observe({ practice: practiceId, kind, status: statusClass(status) }, seconds)
  }

  budget (practiceId: string, decision: 'granted' | 'refused' | 'upstream_429'): void {
    this.#budget.inc({ practice: practiceId, decision })
  }

  refresh (outcome: RefreshOutcome): void {
    this.#refreshes.inc({ outcome })
  }

  syncRun (outcome: SyncOutcome, seconds: number): void {
    this.#syncRuns.inc({ outcome })
    this.#syncDuration.observe({ outcome }, seconds)
  }
}
