import { randomUUID } from 'node:crypto'
import type { Store } from '../store/types.js'
import type { SyncRunRow } from '../store/sync-types.js'
import type { RequestBudget } from '../budget/sliding-window.js'
import type { GatewayEvents } from '../events.js'
import type { Vault } from '../tokens/vault.js'
import type { Mode } from '../tokens/scopes.js'
import { GatewayError, ReauthRequiredError } from '../errors.js'
import type { Clock } from './clock.js'
import { SyncRun } from './engine.js'
import { emptyProgress, parseProgress, skippedTypes, type SyncProgress } from './progress.js'
import { RecordSealer } from './sealing.js'
import { SyncInterruptedError } from './upstream.js'

export interface SyncServiceOptions {
  store: Store
  vault: Vault
  budget: RequestBudget
  events: GatewayEvents
  clock: Clock
  mode: Mode
  /** A usable access token for the connection (refreshing as needed); `rejected`: one Healow just refused. */
  accessToken: (connectionId: string, rejected?: string) => Promise<string>
  reconnectUrl: (practiceId: string) => string
  /** 0: only on demand. */
  intervalMs: number
  /** Share of the interval by which each connection's next sync is moved either way, so a fleet spreads out. */
  jitter?: number
  keepFree: number
  aliasOrigins: readonly string[]
  timeoutMs: number
  maxBinaryBytes: number
  leaseTtlMs: number
  /** After a run stopped on a Healow outage, the next attempt comes this much later. */
  retryAfterOutageMs?: number
  maxConcurrent?: number
  retryDelaysMs?: number[]
  log: Record<'warn' | 'info' | 'error', (o: object, msg: string) => void>
}

export type SyncStatusName = 'idle' | 'running' | 'succeeded' | 'failed'

export interface SyncStatus {
  status: SyncStatusName
  syncId: string | null
  startedAt: number | null
  finishedAt: number | null
  nextAt: number | null
  progress: SyncProgress
  lastError?: string
}

export type SyncListener = (status: SyncStatus, finished: boolean) => void

interface Running {
  runId: string
  startedAt: number
  progress: SyncProgress
  abort: AbortController
  done: Promise<void>
}

/**
 * Runs connections' syncs: on demand (start) and on schedule (tick), one at a time per
 * connection across instances (a lease in the store), resuming an interrupted run from its
 * checkpoints, and telling listeners (the status stream) and the event bus how it went.
 */
export class SyncService {
  readonly #running = new Map<string, Running>()
  readonly #listeners = new Map<string, Set<SyncListener>>()
  readonly #owner = randomUUID()
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (private readonly o: SyncServiceOptions) {}

  /** Starts (or resumes) the connection's sync now; answers the running one if there is one. */
  async start (connectionId: string): Promise<SyncStatus> {
    if (!this.#running.has(connectionId)) await this.launch(connectionId)
    return await this.status(connectionId)
  }

  private async launch (connectionId: string): Promise<void> {
    const { store, clock } = this.o
    const connection = await store.connections.get(connectionId)
    if (!connection) throw new GatewayError(404, 'not_found', `No connection ${connectionId}`)
    if (connection.status === 'reauth_required') {
      throw new ReauthRequiredError(connectionId, connection.lastError ?? 'reauth_required', this.o.reconnectUrl(connection.practiceId))
    }
    // A public client has no refresh token: it syncs only while its access token lives, and
    // asking for a new one would turn the connection to reauth_required.
    if (!connection.refreshable && connection.accessExpiresAt < clock.now() + 60_000) {
      throw new ReauthRequiredError(connectionId, 'the access token has expired and a public client cannot refresh it', this.o.reconnectUrl(connection.practiceId))
    }
    if (this.#closed || this.#running.has(connectionId)) return
    // Another instance runs it when the lease is taken.
    if (!await store.sync.acquireLease(connectionId, this.#owner, clock.now(), this.o.leaseTtlMs)) return
    if (this.#running.has(connectionId)) return
    let run: { id: string, startedAt: number, progress: SyncProgress, checkpoints: Map<string, string> }
    try {
      const latest = await store.sync.latestRun(connectionId)
      if (latest !== null && (latest.status === 'running' || latest.resumable)) {
        const checkpoints = await store.sync.checkpoints(latest.id)
        run = { id: latest.id, startedAt: latest.startedAt, progress: parseProgress(latest.progress), checkpoints }
        await store.sync.updateRun(run.id, { status: 'running', progress: latest.progress, finishedAt: null, error: null, resumable: false })
        this.o.log.info({ connectionId, syncId: run.id }, 'resuming an interrupted sync')
      } else {
        run = { id: randomUUID(), startedAt: clock.now(), progress: emptyProgress(), checkpoints: new Map() }
        const progress = JSON.stringify(run.progress)
        await store.sync.createRun({ id: run.id, connectionId, startedAt: run.startedAt, progress })
      }
    } catch (err) {
      await store.sync.releaseLease(connectionId, this.#owner)
      throw err
    }
    const abort = new AbortController()
    const running: Running = {
      runId: run.id,
      startedAt: run.startedAt,
      progress: run.progress,
      abort,
      done: Promise.resolve()
    }
    this.#running.set(connectionId, running)
    const engine = new SyncRun({
      store,
      sealer: new RecordSealer(this.o.vault.recordCipher),
      budget: this.o.budget,
      clock,
      keepFree: this.o.keepFree,
      aliasOrigins: this.o.aliasOrigins,
      timeoutMs: this.o.timeoutMs,
      maxBinaryBytes: this.o.maxBinaryBytes,
      accessToken: async (rejected) => await this.o.accessToken(connectionId, rejected),
      onProgress: () => { void this.notify(connectionId, false) },
      retryDelaysMs: this.o.retryDelaysMs
    }, connection, run.id, run.progress, run.checkpoints, abort.signal)
    running.done = this.execute(connectionId, connection.practiceId, running, engine)
  }

  private async execute (connectionId: string, practiceId: string, running: Running, engine: SyncRun): Promise<void> {
    const { store, clock } = this.o
    // Renew the lease while the run lasts; losing it (another instance took over) stops this run.
    const renew = setInterval(() => {
      store.sync.acquireLease(connectionId, this.#owner, clock.now(), this.o.leaseTtlMs)
        .then((held) => { if (!held) running.abort.abort() }, () => {})
    }, Math.max(200, this.o.leaseTtlMs / 3))
    const finish = async (status: 'succeeded' | 'failed', error: string | null, resumable: boolean, nextAt: number | null): Promise<void> => {
      const progress = JSON.stringify(running.progress)
      await store.sync.updateRun(running.runId, { status, progress, finishedAt: clock.now(), error, resumable })
      if (nextAt !== null) await store.sync.setNextAt(connectionId, nextAt)
    }
    try {
      const progress = await engine.run()
      await finish('succeeded', null, false, this.nextScheduled())
      this.o.events.publish({
        type: 'sync.succeeded',
        connectionId,
        practiceId,
        syncId: running.runId,
        at: clock.now(),
        requests: progress.requests,
        resources: progress.resources,
        skippedTypes: skippedTypes(progress)
      })
    } catch (err) {
      if (running.abort.signal.aborted) {
        // Shut down (or lease lost): the run stays "running" and continues from its checkpoints on the next start.
        await store.sync.updateRun(running.runId, { status: 'running', progress: JSON.stringify(running.progress), finishedAt: null, error: null, resumable: false }).catch(() => {})
        return
      }
      const [code, message, resumable] = err instanceof ReauthRequiredError
        ? ['reauth_required', 'The patient must log in at Healow again; the sync stops until the connection is renewed', false] as const
        : err instanceof SyncInterruptedError
          ? ['upstream_unavailable', err.message, true] as const
          : ['internal_error', 'The sync failed inside the gateway; it starts afresh on the next schedule', false] as const
      if (code === 'internal_error') this.o.log.error({ err, connectionId, syncId: running.runId }, 'sync failed')
      else this.o.log.warn({ connectionId, syncId: running.runId, code }, 'sync stopped')
      await finish('failed', message, resumable, resumable ? clock.now() + (this.o.retryAfterOutageMs ?? 15 * 60_000) : this.nextScheduled())
        .catch((e: unknown) => this.o.log.error({ err: e, connectionId }, 'could not record the sync result'))
      this.o.events.publish({ type: 'sync.failed', connectionId, practiceId, syncId: running.runId, at: clock.now(), code })
    } finally {
      clearInterval(renew)
      this.#running.delete(connectionId)
      await store.sync.releaseLease(connectionId, this.#owner).catch(() => {})
      await this.notify(connectionId, true)
    }
  }

  /** The next scheduled start, moved by up to ±jitter of the interval; null when only on demand. */
  private nextScheduled (): number | null {
    const { intervalMs, jitter = 0.1, clock } = this.o
    if (intervalMs <= 0) return Number.MAX_SAFE_INTEGER
    return Math.round(clock.now() + intervalMs * (1 + jitter * (2 * Math.random() - 1)))
  }

  async status (connectionId: string): Promise<SyncStatus> {
    const { store } = this.o
    const [latest, nextAt] = await Promise.all([store.sync.latestRun(connectionId), store.sync.nextAt(connectionId)])
    const running = this.#running.get(connectionId)
    const next = nextAt === null || nextAt === Number.MAX_SAFE_INTEGER ? null : nextAt
    if (running !== undefined) {
      return { status: 'running', syncId: running.runId, startedAt: running.startedAt, finishedAt: null, nextAt: next, progress: running.progress }
    }
    if (latest === null) return { status: 'idle', syncId: null, startedAt: null, finishedAt: null, nextAt: next, progress: emptyProgress() }
    return describeRun(latest, next)
  }

  /** Calls `listener` with the status after every page and once more at the end; returns the unsubscribe. */
  subscribe (connectionId: string, listener: SyncListener): () => void {
    let set = this.#listeners.get(connectionId)
    if (!set) this.#listeners.set(connectionId, set = new Set())
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.#listeners.delete(connectionId)
    }
  }

  isRunning (connectionId: string): boolean {
    return this.#running.has(connectionId)
  }

  private async notify (connectionId: string, finished: boolean): Promise<void> {
    const listeners = this.#listeners.get(connectionId)
    if (!listeners || listeners.size === 0) return
    const status = await this.status(connectionId).catch(() => undefined)
    if (status === undefined) return
    for (const listener of listeners) listener(status, finished)
  }

  /** Starts what is due: interrupted runs always, scheduled ones unless the interval is 0. */
  async tick (): Promise<void> {
    const free = (this.o.maxConcurrent ?? 4) - this.#running.size
    if (free <= 0 || this.#closed) return
    const due = await this.o.store.sync.due(this.o.clock.now(), free + this.#running.size, this.o.intervalMs > 0)
    for (const connectionId of due) {
      if (this.#running.size >= (this.o.maxConcurrent ?? 4)) break
      if (this.#running.has(connectionId)) continue
      await this.launch(connectionId).catch(async (err: unknown) => {
        // Not startable now (e.g. a public connection whose token ran out): ask again next interval.
        const next = this.nextScheduled()
        if (next !== null) await this.o.store.sync.setNextAt(connectionId, next).catch(() => {})
        this.o.log.info({ connectionId, reason: (err as Error).message }, 'scheduled sync not started')
      })
    }
  }

  /** Ticks every `everyMs` (real time) until close. */
  schedule (everyMs: number): void {
    const tick = (): void => { this.tick().catch((err: unknown) => this.o.log.warn({ err }, 'sync schedule tick failed')) }
    this.#timer = setInterval(tick, everyMs).unref()
    tick()
  }

  /** Stops the schedule and every running sync (they resume from their checkpoints on the next start). */
  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    const running = [...this.#running.values()]
    for (const r of running) r.abort.abort()
    await Promise.all(running.map(async (r) => { await r.done }))
  }

  /** Waits for the connection's running sync, if any (tests, the demo). */
  async settled (connectionId: string): Promise<void> {
    await this.#running.get(connectionId)?.done
  }
}

function describeRun (run: SyncRunRow, nextAt: number | null): SyncStatus {
  return {
    status: run.status,
    syncId: run.id,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    nextAt,
    progress: parseProgress(run.progress),
    ...(run.error !== null ? { lastError: run.error } : {})
  }
}
