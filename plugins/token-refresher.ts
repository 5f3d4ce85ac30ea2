import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { HealowTokenClient } from './healow-token-client.js'
import type { ConnectionRow, Store } from './store/types.js'
import type { OpenConnection, Vault } from './vault.js'
import { NO_METRICS, type MetricsRecorder, type RefreshOutcome } from '../lib/metrics.js'

export class ReauthRequiredError extends Error {
  readonly code = 'reauth_required'
  readonly statusCode = 401
  constructor (readonly connectionId: string, readonly reason: string, readonly reconnectUrl: string) {
    super(`The connection needs the patient to log in at Healow again (${reason}); reconnect at ${reconnectUrl}`)
  }
}

export class UpstreamUnavailableError extends Error {
  readonly code = 'upstream_unavailable'
  readonly statusCode = 502
}

/** The practice's Healow budget is spent for now; calling anyway would trip Healow's minute-long block. */
export class RateLimitedError extends Error {
  readonly code = 'rate_limited'
  readonly statusCode = 429
  constructor (readonly retryAfterMs: number) {
    super(`Healow's request budget for this practice is spent; retry in ${Math.ceil(retryAfterMs / 1000)} s`)
  }
}

export class ConnectionNotFoundError extends Error {
  readonly code = 'not_found'
  readonly statusCode = 404
}

export interface TokenRefresherOptions {
  vault: Vault
  store: Store
  client: HealowTokenClient
  log: FastifyBaseLogger
  marginMs: number
  reconnectUrl: (practiceId: string) => string
  /** Takes one request from the practice's Healow budget before each token call. */
  beforeTokenCall?: (practiceId: string) => Promise<void>
  /** Long enough to cover every retry of one refresh; a crashed holder's lease lapses after it. */
  leaseTtlMs?: number
  retryDelaysMs?: number[]
  /** Counts refresh outcomes and times token calls. */
  metrics?: MetricsRecorder
}

/**
 * Keeps access tokens fresh without ever spending a refresh token twice. Healow's refresh tokens
 * are single use (../shared/facts/healow.md), so two refreshes racing lose the connection:
 * in one process concurrent callers share one promise; across processes a lease in the store
 * lets one instance refresh while the others wait and re-read its result. The new refresh token
 * is committed before the new access token is handed out.
 */
export class TokenRefresher {
  readonly #inflight = new Map<string, Promise<OpenConnection>>()
  readonly #owner = randomUUID()
  readonly #leaseTtlMs: number
  readonly #retryDelaysMs: number[]
  readonly #metrics: MetricsRecorder

  constructor (private readonly o: TokenRefresherOptions) {
    this.#metrics = o.metrics ?? NO_METRICS
    this.#leaseTtlMs = o.leaseTtlMs ?? 45_000
    this.#retryDelaysMs = o.retryDelaysMs ?? [300, 1500]
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
  async accessToken (id: string, { rejected, record }: { rejected?: string, record?: ConnectionRow } = {}): Promise<string> {
    // A record read a moment ago (to check the caller's key) saves a second read on the hot path.
    const connection = record && rejected === undefined ? this.o.vault.open(record) : await this.load(id)
    if (connection.status === 'reauth_required') throw this.reauth(connection)
    const replaced = rejected !== undefined && connection.tokens.accessToken !== rejected
    if (this.isFresh(connection, Date.now()) && (rejected === undefined || replaced)) return connection.tokens.accessToken
    return (await this.refresh(id, { after: connection.tokenVersion })).tokens.accessToken
  }

  /**
   * Refreshes unless someone already did after version `after` (default: the current one, i.e.
   * refresh now). Concurrent callers in this process share the same refresh.
   */
  async refresh (id: string, { after }: { after?: number } = {}): Promise<OpenConnection> {
    const running = this.#inflight.get(id)
    if (running) return await running
    const work = (async () => {
      const seenVersion = after ?? (await this.load(id)).tokenVersion
      return await this.refreshUnderLease(id, seenVersion)
    })().finally(() => this.#inflight.delete(id))
    this.#inflight.set(id, work)
    return await work
  }

  private async refreshUnderLease (id: string, seenVersion: number): Promise<OpenConnection> {
    const deadline = Date.now() + this.#leaseTtlMs + 5_000
    for (;;) {
      if (await this.o.store.refreshLeases.acquire(id, this.#owner, Date.now(), this.#leaseTtlMs)) {
        try {
          const current = await this.load(id)
          if (current.status === 'reauth_required') throw this.reauth(current)
          if (current.tokenVersion !== seenVersion) return current // another instance refreshed meanwhile
          return await this.callHealow(current)
        } finally {
          await this.o.store.refreshLeases.release(id, this.#owner)
        }
      }
      // Another instance is refreshing: wait for its result rather than spend the token again.
      await sleep(40 + Math.random() * 60)
      const current = await this.load(id)
      if (current.status === 'reauth_required') throw this.reauth(current)
      if (current.tokenVersion !== seenVersion) return current
      if (Date.now() > deadline) throw new UpstreamUnavailableError('Another gateway instance is still refreshing this connection; try again shortly')
    }
  }

  private async callHealow (connection: OpenConnection): Promise<OpenConnection> {
    const { id, tokens } = connection
    if (!tokens.refreshToken) {
      const reason = 'access token expired and a public client has no refresh token'
      this.#metrics.refresh('no_refresh_token')
      await this.o.vault.markReauthRequired(id, reason)
      throw this.reauth(connection, reason)
    }
    let lastProblem = ''
    let failure: RefreshOutcome = 'failed'
    for (let attempt = 0; attempt <= this.#retryDelaysMs.length; attempt++) {
      if (attempt > 0) await sleep(this.#retryDelaysMs[attempt - 1])
      await this.o.beforeTokenCall?.(connection.practiceId)
      const started = performance.now()
      const outcome = await this.o.client.refresh(tokens.refreshToken)
      this.#metrics.upstream(connection.practiceId, 'token', (performance.now() - started) / 1000, outcome.kind === 'unavailable' ? undefined : outcome.answer.status)
      if (outcome.kind === 'ok') {
        const body = outcome.answer.body
        const now = Date.now()
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
          // Only possible if our lease lapsed mid-call; the token we got may be the only live one.
          this.o.log.error({ connectionId: id }, 'refresh result could not be saved: another writer changed the connection')
          throw new UpstreamUnavailableError('Refresh raced with another writer; try again')
        }
        this.#metrics.refresh('refreshed')
        this.o.log.info({ connectionId: id, practiceId: connection.practiceId }, 'refreshed access token')
        return { ...connection, tokens: next, accessExpiresAt, tokenVersion: connection.tokenVersion + 1, lastRefreshAt: now, lastError: null, scope: scope ?? connection.scope }
      }
      if (outcome.kind === 'invalid_grant') {
        const reason = `Healow refused the refresh token (invalid_grant${typeof outcome.answer.body.error_description === 'string' ? `: ${outcome.answer.body.error_description.slice(0, 200)}` : ''})`
        this.#metrics.refresh('invalid_grant')
        await this.o.vault.markReauthRequired(id, reason)
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
    }
    this.#metrics.refresh(failure)
    await this.o.vault.recordError(id, lastProblem)
    this.o.log.warn({ connectionId: id, problem: lastProblem }, 'refresh failed; tokens kept')
    // The old access token may still be good for a few minutes: better than failing the caller.
    if (connection.accessExpiresAt > Date.now() + 5_000) return connection
    throw new UpstreamUnavailableError(`Could not refresh the access token: ${lastProblem}`)
  }

  /** Refreshes connections idle for `idleMs`, so a rarely used refresh token never lapses. */
  async keepAlive (idleMs: number, batch = 50): Promise<number> {
    const ids = await this.o.store.connections.listStale(Date.now() - idleMs, batch)
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

declare module 'fastify' {
  interface FastifyInstance { tokens: TokenRefresher }
}

export interface TokenRefresherPluginOptions {
  /** Waits between attempts of one refresh; the default suits Healow, tests of outages shorten it. */
  retryDelaysMs?: number[]
}

export default fp<TokenRefresherPluginOptions>(async (app, { retryDelaysMs }) => {
  const { config } = app
  const refresher = new TokenRefresher({
    vault: app.vault,
    store: app.store,
    client: app.healowTokenClient,
    log: app.log,
    marginMs: config.TOKEN_REFRESH_MARGIN_SECONDS * 1000,
    leaseTtlMs: config.REFRESH_LEASE_SECONDS * 1000,
    retryDelaysMs,
    metrics: app.metrics,
    reconnectUrl: (practiceId) => `${config.PUBLIC_URL}/healow/connect?tenant=${encodeURIComponent(practiceId)}`,
    // /token calls count against the practice's 250 per minute at Healow, like FHIR calls.
    beforeTokenCall: async (practiceId) => {
      const decision = await app.requestBudget.take(practiceId)
      if (!decision.ok) throw new RateLimitedError(decision.retryAfterMs)
    }
  })
  app.decorate('tokens', refresher)
  const idleMs = config.REFRESH_KEEPALIVE_DAYS * 86_400_000
  const timer = setInterval(() => { void refresher.keepAlive(idleMs) }, 3_600_000).unref()
  app.addHook('onReady', async () => { void refresher.keepAlive(idleMs).catch((err) => app.log.warn({ err }, 'keep-alive failed')) })
  app.addHook('onClose', async () => { clearInterval(timer) })
}, { name: 'token-refresher', dependencies: ['config', 'store', 'vault', 'healow-token-client', 'request-budget', 'metrics'] })
