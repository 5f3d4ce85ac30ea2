import { sha256, type AuthenticatedConnection, type Connections } from '../tokens/connections.js'
import type { Config } from '../config.js'
import type { RequestBudget } from '../budget/sliding-window.js'
import type { Practice } from '../directory/practice.js'
import type { HealowTokenClient } from '../tokens/healow-token-client.js'
import type { TokenRefresher } from '../tokens/refresher.js'
import type { Vault } from '../tokens/vault.js'
import type { TokenCallOutcome } from '../tokens/token-request.js'
import { connectionFromTokenResponse } from '../tokens/token-response.js'
import { settleWithin } from '../tokens/token-request.js'
import { ReauthRequiredError } from '../errors.js'

/** What Mere web's own server answers: Healow's status and body, or an error of Mere's shape. */
export interface MereAnswer {
  status: number
  body: Record<string, unknown>
}

// Two tabs refreshing with the same single-use refresh token within this window get one answer.
const SHARED_REFRESH_TTL_MS = 60_000
const HANDLE = /^(hsa|hsr)\.([0-9a-f-]{36})\.(hsk_[A-Za-z0-9_-]{43})$/

/** What the Mere token endpoints use of the gateway. */
export interface MereCompatDeps {
  config: Pick<Config, 'HEALOW_CLIENT_ID' | 'MERE_VAULT_HANDLES' | 'TOKEN_REQUEST_TIMEOUT_MS' | 'mode'>
  tenantDirectory: { get (id: string): Practice | undefined }
  vault: Pick<Vault, 'create' | 'read'>
  connections: Pick<Connections, 'issueKey' | 'verifyKey'>
  tokens: Pick<TokenRefresher, 'accessToken'>
  healowTokenClient: Pick<HealowTokenClient, 'request' | 'refresh'>
  requestBudget: Pick<RequestBudget, 'take'>
}

/** Just the parts MereCompat works with, taken from what holds them all (the app). */
export function mereCompatDeps (
  { config, tenantDirectory, vault, connections, tokens, healowTokenClient, requestBudget }: MereCompatDeps
): MereCompatDeps {
  return { config, tenantDirectory, vault, connections, tokens, healowTokenClient, requestBudget }
}

const mereError = (error: string, description: string, status = 400): MereAnswer =>
  ({ status, body: { error, error_description: description } })

/**
 * Mere web's token endpoints, as its own server has them, plus the opt-in vault handles: the
 * browser gets opaque gateway handles instead of Healow's tokens, which stay in the vault.
 */
export class MereCompat {
  readonly #refreshing = new Map<string, { answer: Promise<TokenCallOutcome>, until: number }>()

  constructor (private readonly deps: MereCompatDeps) {}

  private get handlesOn (): boolean { return this.deps.config.MERE_VAULT_HANDLES }

  private precheck (tenantId: string): MereAnswer | { practice: Practice } {
    if (this.deps.config.mode !== 'confidential') return mereError('server_configuration_error', 'This gateway has no HEALOW_CLIENT_SECRET: it runs as a public client, which cannot use this endpoint')
    const practice = this.deps.tenantDirectory.get(tenantId)
    if (!practice) return mereError('invalid_tenant', `Unknown practice "${tenantId.slice(0, 64)}"`)
    return { practice }
  }

  private passBack (outcome: TokenCallOutcome): MereAnswer {
    if (outcome.kind === 'not_processed' || outcome.kind === 'unknown') return mereError('upstream_unavailable', `Healow's token endpoint is unavailable: ${outcome.reason}`, 502)
    return { status: outcome.answer.status, body: outcome.answer.body }
  }

  /** The browser waits TOKEN_REQUEST_TIMEOUT_MS at most; the call to Healow runs on regardless. */
  private async answerWithin (call: Promise<TokenCallOutcome>): Promise<TokenCallOutcome> {
    const settled = await settleWithin(call, this.deps.config.TOKEN_REQUEST_TIMEOUT_MS)
    return settled?.value ?? { kind: 'unknown', reason: 'no answer yet; send the same request again shortly to receive it' }
  }

  async exchange (input: {
    code: string,
    redirect_uri: string,
    code_verifier: string,
    tenant_id: string
  }): Promise<MereAnswer> {
    const checked = this.precheck(input.tenant_id)
    if ('status' in checked) return checked
    const outcome = await this.answerWithin(this.deps.healowTokenClient.request({
      grant_type: 'authorization_code', code: input.code, redirect_uri: input.redirect_uri, code_verifier: input.code_verifier
    }))
    if (outcome.kind !== 'ok' || !this.handlesOn) return this.passBack(outcome)
    return await this.handOut(checked.practice, outcome.answer.body)
  }

  /** Vault-handle mode: keeps the tokens of Healow's successful token answer and answers with handles instead. */
  async handOut (practice: { id: string, fhirBase: string }, body: unknown): Promise<MereAnswer> {
    if (typeof body !== 'object' || body === null || typeof (body as { access_token?: unknown }).access_token !== 'string') {
      return mereError('invalid_token_response', 'Healow answered the code exchange without an access token', 502)
    }
    return await this.storeAndHandOut(practice, body as Record<string, unknown>)
  }

  private async storeAndHandOut (
    practice: { id: string, fhirBase: string },
    body: Record<string, unknown>
  ): Promise<MereAnswer> {
    const now = Date.now()
    const made = connectionFromTokenResponse(body, practice, this.deps.config.HEALOW_CLIENT_ID, now)
    if (!made.ok) return mereError(made.code, made.message, 502)
    const connectionId = await this.deps.vault.create(made.connection, now)
    const expiresIn = (made.connection.accessExpiresAt - now) / 1000
    const key = await this.deps.connections.issueKey(connectionId)
    return { status: 200, body: this.handleResponse(connectionId, key, body, expiresIn) }
  }

  private handleResponse (
    connectionId: string,
    key: string,
    healow: Record<string, unknown>,
    expiresIn: number
  ): Record<string, unknown> {
    return {
      token_type: 'Bearer',
      access_token: `hsa.${connectionId}.${key}`,
      refresh_token: `hsr.${connectionId}.${key}`,
      expires_in: expiresIn,
      ...(typeof healow.scope === 'string' ? { scope: healow.scope } : {}),
      // Mere reads the patient from the id_token; it is an identity assertion, not a credential for Healow's API.
      ...(typeof healow.id_token === 'string' ? { id_token: healow.id_token } : {}),
      ...(typeof healow.patient === 'string' ? { patient: healow.patient } : {})
    }
  }

  /** The connection an access or refresh handle stands for, or null. */
  async resolveHandle (handle: string, kind: 'hsa' | 'hsr'): Promise<{ connectionId: string, key: string, connection: AuthenticatedConnection } | null> {
    const match = HANDLE.exec(handle)
    if (!match || match[1] !== kind) return null
    const connection = await this.deps.connections.verifyKey(match[2], match[3])
    return connection ? { connectionId: connection.id, key: match[3], connection } : null
  }

  async refresh (input: { refresh_token: string, tenant_id: string }): Promise<MereAnswer> {
    const checked = this.precheck(input.tenant_id)
    if ('status' in checked) return checked
    if (this.handlesOn && input.refresh_token.startsWith('hsr.')) return await this.refreshHandle(input.refresh_token)
    return this.passBack(await this.refreshShared(input.refresh_token, checked.practice.id))
  }

  private async refreshHandle (handle: string): Promise<MereAnswer> {
    const resolved = await this.resolveHandle(handle, 'hsr')
    if (!resolved) return mereError('invalid_grant', 'Unknown or revoked refresh handle')
    try {
      // Mere refreshes on its own clock; the vault refreshes only when the real token needs it.
      await this.deps.tokens.accessToken(resolved.connectionId)
    } catch (err) {
      if (err instanceof ReauthRequiredError) return mereError('invalid_grant', err.message)
      throw err
    }
    const connection = (await this.deps.vault.read(resolved.connectionId))!
    const expiresIn = Math.max(0, Math.floor((connection.accessExpiresAt - Date.now()) / 1000))
    const healow = { scope: connection.scope, id_token: connection.tokens.idToken, patient: connection.patientId }
    return { status: 200, body: this.handleResponse(connection.id, resolved.key, healow, expiresIn) }
  }

  /**
   * Healow's refresh tokens are single use: two tabs sending the same one would lose the
   * connection. Callers with the same token share one call and, for a minute, its answer.
   */
  private async refreshShared (refreshToken: string, practiceId: string): Promise<TokenCallOutcome> {
    const now = Date.now()
    for (const [hash, entry] of this.#refreshing) if (entry.until < now) this.#refreshing.delete(hash)
    const hash = sha256(refreshToken)
    const shared = this.#refreshing.get(hash)
    if (shared) return await this.answerWithin(shared.answer)
    const answer = (async (): Promise<TokenCallOutcome> => {
      const decision = await this.deps.requestBudget.take(practiceId)
      if (!decision.ok) return { kind: 'not_processed', reason: 'the practice\'s request budget is spent; retry in a minute' }
      return await this.deps.healowTokenClient.refresh(refreshToken)
    })()
    const entry = { answer, until: Number.POSITIVE_INFINITY }
    this.#refreshing.set(hash, entry)
    // Kept while Healow may still answer, and a minute after: a tab that asks again gets this answer
    // rather than spend the token twice. Only a call Healow provably ignored may be sent again.
    answer.then((o) => {
      if (o.kind === 'not_processed') this.#refreshing.delete(hash)
      else entry.until = Date.now() + SHARED_REFRESH_TTL_MS
    }, () => this.#refreshing.delete(hash))
    return await this.answerWithin(answer)
  }
}
