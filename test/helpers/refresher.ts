import type { Test } from 'tap'
import { NO_METRICS } from '../../lib/metrics.js'
import { HealowTokenClient } from '../../lib/tokens/healow-token-client.js'
import { TokenRefresher, type TokenRefresherOptions } from '../../lib/tokens/refresher.js'
import type { NewConnectionInput } from '../../lib/tokens/vault.js'
import { scriptedTokenEndpoint, type ScriptedAnswer } from './token-endpoint.js'
import { SANDBOX_CONNECTION, openTestVault } from './vault.js'

export const MARGIN_MS = 60_000
export const RECONNECT = 'https://gw.example.org/healow/connect?tenant=JAFJCD'

/** Healow's answer to a good refresh: rotated tokens, all of them numbered `n`. */
export const rotated = (n: number, extra: Record<string, unknown> = {}): ScriptedAnswer => ({
  body: { access_token: `access-${n}`, refresh_token: `refresh-${n}`, id_token: `id-${n}`, token_type: 'Bearer', expires_in: 3600, ...extra }
})

/** A connection in a SQLite vault, a refresher over it, and Healow's token endpoint played from a script. */
export async function refresherOn (t: Test, {
  connection = {},
  options = {}
}: { connection?: Partial<NewConnectionInput>, options?: Partial<TokenRefresherOptions> } = {}) {
  const { store, vault } = await openTestVault(t)
  const healow = await scriptedTokenEndpoint(t)
  const logs: Array<{ level: string, details: object, message: string }> = []
  const logAt = (level: string) => (details: object, message: string) => { logs.push({ level, details, message }) }
  const outcomes: string[] = []
  const tokenCalls: Array<{ practiceId: string, seconds: number, status: number | undefined }> = []
  const budgetTaken: string[] = []
  const refresher = new TokenRefresher({
    vault,
    store,
    client: new HealowTokenClient({ HEALOW_TOKEN_URL: healow.url, HEALOW_CLIENT_ID: 'client', HEALOW_CLIENT_SECRET: 'secret' }),
    log: { info: logAt('info'), warn: logAt('warn'), error: logAt('error') },
    marginMs: MARGIN_MS,
    reconnectUrl: (practiceId) => `https://gw.example.org/healow/connect?tenant=${practiceId}`,
    beforeTokenCall: async (practiceId) => { budgetTaken.push(practiceId) },
    retryDelaysMs: [5, 10],
    callerWaitMs: 2_000,
    metrics: {
      ...NO_METRICS,
      refresh: (outcome) => { outcomes.push(outcome) },
      upstream: (practiceId, kind, seconds, status) => { if (kind === 'token') tokenCalls.push({ practiceId, seconds, status }) }
    },
    ...options
  })
  const id = await vault.create({ ...SANDBOX_CONNECTION, accessExpiresAt: Date.now() + 30_000, ...connection })
  return { store, vault, healow, refresher, id, logs, outcomes, tokenCalls, budgetTaken }
}

type Refusal = Error & { statusCode?: number, code?: string, retryAfterMs?: number }

export async function rejection (promise: Promise<unknown>): Promise<Refusal> {
  return await promise.then(() => { throw new Error('expected a refusal') }, (err: Error) => err)
}
