import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { HealowTokenClient, TokenCallOutcome } from './healow-token-client.js'
import { settleWithin } from './token-request.js'
import type { ConnectionRow, Store } from '../store/types.js'
import type { OpenConnection, Vault } from './vault.js'
import { ConnectionNotFoundError, ReauthRequiredError, UpstreamUnavailableError } from '../errors.js'
import type { PartLog } from '../log.js'
import { NO_METRICS, type MetricsRecorder, type RefreshOutcome } from '../metrics.js'

export interface TokenRefresherOptions {
  vault: Vault
  store: Store
  client: HealowTokenClient
  log: PartLog & { error (details: object, message: string): void }
  marginMs: number
  reconnectUrl: (practiceId: string) => string
  /** Takes one request from the practice's Healow budget before each token call. */
  beforeTokenCall?: (practiceId: string) => Promise<void>
  /** How long callers wait for Healow's token endpoint; the call itself is never abandoned. */
  callerWaitMs?: number
  /** A lease of a live holder is renewed; this bounds one that is neither renewed nor released. */
  leaseTtlMs?: number
  retryDelaysMs?: number[]
  /** Counts refresh outcomes and times token calls. */
  metrics?: MetricsRecorder
  /** The time expiries and leases are judged by (tests move it). */
  now?: () => number
}

/** One refresh of one connection, shared by every caller in this process. */
interface RefreshJob {
  /** Settles with the committed result, however long Healow takes. */
  result: Promise<OpenConnection>
  /** Resolves once a token call has outlived the callers' wait. */
  slow: Promise<void>
}

// The old access token is handed out while it has at least this long to live.
const STILL_VALID_MS = 5_000
// What Retry-After suggests while Healow's answer is still on its way: it is committed on arrival.
const IN_FLIGHT_RETRY_AFTER_MS = 5_000

/**
 * Keeps access tokens fresh without ever spending a refresh token twice. Healow's refresh tokens
 * are single use, so two refreshes racing lose the connection: in one process concurrent callers
 * share one refresh job; across processes a lease in the store lets one instance refresh while the
 * others wait and re-read its result. The new refresh token is committed before the new access
 * token is handed out.
 *
 * A token call is never abandoned (lib/tokens/token-request.ts): when Healow is slower than
 * `callerWaitMs`, callers get the old access token if it still works, else upstream_unavailable
 * with Retry-After, while the job keeps its lease and waits for the answer and commits it. Only
 * calls Healow provably ignored (refused connection, 429, 503) are retried within a job; an answer
 * lost on the way (cut mid-body, other 5xx) is recorded as the connection's last error and the job
 * ends, so the refresh token is sent again only by a later refresh, never while a request carrying
 * it may still be answered.
 */
export class TokenRefresher {
  readonly #jobs = new Map<string, RefreshJob>()
  readonly #owner = randomUUID()
  readonly #leaseTtlMs: number
  readonly #retryDelaysMs: number[]
  readonly #callerWaitMs: number
  readonly #now: () => number
  private readonly metrics: MetricsRecorder

  constructor (private readonly o: TokenRefresherOptions) {
    this.metrics = o.metrics ?? NO_METRICS
    this.#leaseTtlMs = o.leaseTtlMs ?? 45_000
    this.#retryDelaysMs = o.retryDelaysMs ?? [300, 1500]
    this.#callerWaitMs = o.callerWaitMs ?? 10_000
    this.#now = o.now ?? Date.now
  }

  private isFresh (c: OpenConnection, now: number): boolean {
    return c.accessExpiresAt - now > this.o.marginMs
  }

  private async load (id: string): Promise<OpenConnection> {
    const connection = await this.o.vault.read(id)
    if (!connection) throw new ConnectionNotFoundError(`No connection ${id}`)
    return connection
  }

  private reauth (c: Pick<OpenConnection, 'id' | 'practiceId' | 'lastError'>, reason?: string): ReauthRequiredError {
    return new ReauthRequiredError(c.id, reason ?? c.lastError ?? 'reauth_required', this.o.reconnectUrl(c.practiceId))
  }

  /**
   * A usable access token. `rejected`: a token Healow just refused with 401; refresh once unless
   * another caller has already replaced it.
   */
  async accessToken (
    id: string,
    { rejected, record }: { rejected?: string, record?: ConnectionRow } = {}
  ): Promise<string> {
    // A record read a moment ago (to check the caller's key) saves a second read on the hot path.
    const connection = record && rejected === undefined ? this.o.vault.open(record) : await this.load(id)
    if (connection.status === 'reauth_required') throw this.reauth(connection)
    // Not the token Healow refused (or none was): still good while fresh.
    const usable = connection.tokens.accessToken !== rejected
    if (this.isFresh(connection, this.#now()) && usable) return connection.tokens.accessToken
    const token = (await this.refresh(id, { after: connection.tokenVersion })).tokens.accessToken
    // The refresh could not replace the token Healow refused: an outage, not a lost login.
    if (token === rejected) throw new UpstreamUnavailableError('Healow refused the access token and its token endpoint cannot issue a new one now; the connection is kept, try again later')
    return token
  }

  /**
   * Refreshes unless someone already did after version `after` (default: the current one, i.e.
   * refresh now). Concurrent callers in this process share the same refresh.
   */
  async refresh (id: string, { after }: { after?: number } = {}): Promise<OpenConnection> {
    const job = this.#jobs.get(id) ?? this.start(id, after)
    return await Promise.race([job.result, job.slow.then(async () => await this.whileInFlight(id))])
  }

  private start (id: string, after: number | undefined): RefreshJob {
    let markSlow = () => {}
    const slow = new Promise<void>((resolve) => { markSlow = resolve })
    const result = (async () => {
      const seenVersion = after ?? (await this.load(id)).tokenVersion
      return await this.refreshUnderLease(id, seenVersion, markSlow)
    })().finally(() => this.#jobs.delete(id))
    // Callers who stopped waiting no longer listen; the job's own outcome is logged and stored.
    result.catch(() => {})
    const job = { result, slow }
    this.#jobs.set(id, job)
    return job
  }

  /** What a caller gets while Healow's answer is still on its way. */
  private async whileInFlight (id: string): Promise<OpenConnection> {
    const connection = await this.load(id)
    if (connection.status === 'reauth_required') throw this.reauth(connection)
    if (connection.accessExpiresAt > this.#now() + STILL_VALID_MS) return connection
    throw new UpstreamUnavailableError("Healow's token endpoint has not answered yet; its answer is saved when it arrives, try again shortly", IN_FLIGHT_RETRY_AFTER_MS)
  }

  private async refreshUnderLease (id: string, seenVersion: number, markSlow: () => void): Promise<OpenConnection> {
    const deadline = this.#now() + this.#leaseTtlMs + 5_000
    const { refreshLeases } = this.o.store
    for (;;) {
      if (await refreshLeases.acquire(id, this.#owner, this.#now(), this.#leaseTtlMs)) {
        // Held for as long as the job runs, however long Healow takes: renewed, never left to lapse.
        const renewal = setInterval(() => {
          refreshLeases.acquire(id, this.#owner, this.#now(), this.#leaseTtlMs)
            .catch((err: unknown) => this.o.log.warn({ connectionId: id, err: (err as Error).message }, 'refresh lease renewal failed'))
        }, Math.max(250, this.#leaseTtlMs / 3)).unref()
        try {
          const current = await this.load(id)
          if (current.status === 'reauth_required') throw this.reauth(current)
          if (current.tokenVersion !== seenVersion) return current // another instance refreshed meanwhile
          return await this.callHealow(current, markSlow)
        } finally {
          clearInterval(renewal)
          await refreshLeases.release(id, this.#owner)
        }
      }
      // Another instance is refreshing: wait for its result rather than spend the token again.
      // Stryker disable next-line ArithmeticOperator: equivalent; the jitter sets only how soon the store is read again
      await sleep(40 + Math.random() * 60)
      const current = await this.load(id)
      if (current.status === 'reauth_required') throw this.reauth(current)
      if (current.tokenVersion !== seenVersion) return current
      if (this.#now() > deadline) throw new UpstreamUnavailableError('Another gateway instance is still refreshing this connection; try again shortly', IN_FLIGHT_RETRY_AFTER_MS)
    }
  }

  /** One call to Healow, waited for to its end; callers are let go after `callerWaitMs`. */
  private async callToEnd (
    refreshToken: string,
    connectionId: string,
    practiceId: string,
    markSlow: () => void
  ): Promise<TokenCallOutcome> {
    const started = performance.now()
    const call = this.o.client.refresh(refreshToken).then((outcome) => {
      this.metrics.upstream(practiceId, 'token', (performance.now() - started) / 1000, 'answer' in outcome ? outcome.answer.status : undefined)
      return outcome
    })
    const settled = await settleWithin(call, this.#callerWaitMs)
    if (settled) return settled.value
    markSlow()
    this.o.log.warn({ connectionId }, 'token endpoint is slow; waiting for its answer (the refresh token is not sent again)')
    return await call
  }

  private async callHealow (connection: OpenConnection, markSlow: () => void): Promise<OpenConnection> {
    const { id, tokens } = connection
    if (!tokens.refreshToken) {
      const reason = 'access token expired and a public client has no refresh token'
      this.metrics.refresh('no_refresh_token')
      await this.o.vault.markReauthRequired(id, reason, this.#now())
      throw this.reauth(connection, reason)
    }
    // Stryker disable next-line StringLiteral: equivalent; every attempt sets it before it is read
    let lastProblem = ''
    let failure: RefreshOutcome = 'failed'
    for (let attempt = 0; attempt <= this.#retryDelaysMs.length; attempt++) {
      if (attempt > 0) await sleep(this.#retryDelaysMs[attempt - 1])
      await this.o.beforeTokenCall?.(connection.practiceId)
      const outcome = await this.callToEnd(tokens.refreshToken, id, connection.practiceId, markSlow)
      if (outcome.kind === 'ok') return await this.commit(connection, outcome.answer.body)
      if (outcome.kind === 'invalid_grant') {
        const reason = `Healow refused the refresh token (invalid_grant${typeof outcome.answer.body.error_description === 'string' ? `: ${outcome.answer.body.error_description.slice(0, 200)}` : ''})`
        this.metrics.refresh('invalid_grant')
        await this.o.vault.markReauthRequired(id, reason, this.#now())
        this.o.log.warn({ connectionId: id }, 'connection needs a new login: invalid_grant')
        throw this.reauth(connection, reason)
      }
      if (outcome.kind === 'rejected') {
        // Not the patient's doing (e.g. wrong client secret): keep the connection, tell the operator.
        failure = 'rejected'
        lastProblem = `token endpoint refused the request (${outcome.answer.status} ${String(outcome.answer.body.error ?? '')})`
        break
      }
      lastProblem = outcome.reason
      // Healow may have rotated the token: sending it again now could spend it twice.
      if (outcome.kind === 'unknown') break
    }
    this.metrics.refresh(failure)
    await this.o.vault.recordError(id, lastProblem, this.#now())
    this.o.log.warn({ connectionId: id, problem: lastProblem }, 'refresh failed; tokens kept')
    // The old access token may still be good for a few minutes: better than failing the caller.
    if (connection.accessExpiresAt > this.#now() + STILL_VALID_MS) return connection
    throw new UpstreamUnavailableError(`Could not refresh the access token: ${lastProblem}`)
  }

  private async commit (connection: OpenConnection, body: Record<string, unknown>): Promise<OpenConnection> {
    const { id, tokens } = connection
    const now = this.#now()
    const next = {
      accessToken: body.access_token as string,
      // Healow rotates refresh tokens; if an answer ever lacks one, the old one is still the live one.
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : tokens.refreshToken,
      idToken: typeof body.id_token === 'string' ? body.id_token : tokens.idToken
    }
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600
    const scope = typeof body.scope === 'string' ? body.scope : undefined
    const accessExpiresAt = now + expiresIn * 1000
    if (!await this.o.vault.saveRefreshed(id, connection.tokenVersion, next, accessExpiresAt, scope, now)) {
      // Only possible if our lease was taken from us mid-call; the token we got may be the only live one.
      this.o.log.error({ connectionId: id }, 'refresh result could not be saved: another writer changed the connection')
      throw new UpstreamUnavailableError('Refresh raced with another writer; try again')
    }
    this.metrics.refresh('refreshed')
    this.o.log.info({ connectionId: id, practiceId: connection.practiceId }, 'refreshed access token')
    return {
      ...connection,
      tokens: next,
      accessExpiresAt,
      tokenVersion: connection.tokenVersion + 1,
      lastRefreshAt: now,
      lastError: null,
      scope: scope ?? connection.scope
    }
  }

  /**
   * Waits for every refresh under way, e.g. one whose token call outlived its callers: closing
   * the store under it would lose the refresh token Healow is about to send.
   */
  async settle (): Promise<void> {
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs.values()].map(async (job) => await job.result))
  }

  /** Refreshes connections idle for `idleMs`, so a rarely used refresh token never lapses. */
  async keepAlive (idleMs: number, batch = 50): Promise<number> {
    const ids = await this.o.store.connections.listStale(this.#now() - idleMs, batch)
    let refreshed = 0
    for (const id of ids) {
      try {
        await this.refresh(id)
        refreshed++
      } catch (err) {
        this.o.log.warn({ connectionId: id, err: (err as Error).message }, 'keep-alive refresh failed')
      }
    }
    return refreshed
  }
}
