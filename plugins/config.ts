import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import path from 'node:path'
import type { Mode } from '../lib/tokens/scopes.js'

// Healow's production endpoints: one OAuth server for every practice.
export const HEALOW_DEFAULTS = {
  authorizeUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/authorize',
  tokenUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/token',
  // The published "activated clinical endpoints" list; operators may point HEALOW_DIRECTORY_URL at a downloaded copy.
  directoryUrl: 'https://connect4.healow.com/apps/jsp/dev/r4/fhirEndpoints.jsp'
} as const

const Text = (description: string, extra: Record<string, unknown> = {}) => Type.String({ description, ...extra })
const Whole = (description: string, minimum: number, maximum: number, defaultValue: number) =>
  Type.Integer({ description, minimum, maximum, default: defaultValue })
const Flag = (description: string) => Type.Boolean({ description, default: false })

/** Every environment variable the gateway reads; the README table is checked against this list. */
export const EnvSchema = Type.Object({
  HEALOW_CLIENT_ID: Text('Client id of the app registered at the Healow developer portal', { minLength: 1 }),
  HEALOW_CLIENT_SECRET: Type.Optional(Text('Client secret ("Symmetric" app). Set it to run in confidential mode (refresh tokens, offline_access)', { minLength: 1 })),
  PUBLIC_URL: Text('Absolute http(s) URL where clients and Healow reach this gateway; the redirect URL is {PUBLIC_URL}/healow/callback', { minLength: 1 }),
  PORT: Whole('TCP port to listen on', 0, 65535, 3000),
  HOST: Text('Interface to listen on', { default: '127.0.0.1', minLength: 1 }),
  DATA_DIR: Text('Directory for the SQLite vault and the generated vault key', { default: './data', minLength: 1 }),
  DATABASE_URL: Type.Optional(Text('postgres://… for a shared PostgreSQL vault, or sqlite:<path>; default sqlite:{DATA_DIR}/healow-sync.db')),
  VAULT_KEY: Type.Optional(Text('32-byte key (64 hex characters or base64) that encrypts tokens at rest; generated into DATA_DIR when absent')),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { description: 'pino log level', default: 'info' }),
  LOG_FORMAT: Type.Union([Type.Literal('json'), Type.Literal('pretty'), Type.Literal('auto')], { description: 'json, pretty, or auto (pretty on a terminal)', default: 'auto' }),
  ALLOWED_ORIGINS: Text('Comma-separated origins (besides PUBLIC_URL) allowed as return_to targets and for CORS', { default: '' }),
  TRUST_PROXY: Flag('Trust X-Forwarded-* headers (set when running behind a reverse proxy)'),
  ALLOW_LOOPBACK_HTTP: Flag('Accept plain-http practice URLs on loopback hosts: for the local simulator only, never for Healow'),
  HEALOW_AUTHORIZE_URL: Text("Healow's OAuth authorize endpoint", { default: HEALOW_DEFAULTS.authorizeUrl }),
  HEALOW_TOKEN_URL: Text("Healow's OAuth token endpoint", { default: HEALOW_DEFAULTS.tokenUrl }),
  HEALOW_DIRECTORY_URL: Text("URL or file path of Healow's practice directory (FHIR Bundle of Endpoint + Organization)", { default: HEALOW_DEFAULTS.directoryUrl }),
  DIRECTORY_REFRESH_HOURS: Whole('How often the practice directory is re-fetched in the background', 1, 24 * 30, 24),
  MERE_VAULT_HANDLES: Flag("Mere compatibility: keep Healow's tokens in the vault and give Mere web opaque gateway handles instead"),
  TOKEN_REFRESH_MARGIN_SECONDS: Whole('Refresh an access token this long before it expires', 0, 3000, 300),
  TOKEN_REQUEST_TIMEOUT_MS: Whole("Timeout of one call to Healow's token endpoint", 1000, 120_000, 10_000),
  REFRESH_LEASE_SECONDS: Whole("How long one instance holds a connection's refresh against the others; a crashed instance's refreshes wait this long. Must outlast one refresh with its retries", 1, 3600, 45),
  REFRESH_KEEPALIVE_DAYS: Whole('Refresh idle connections after this many days, so the refresh token (90 days at Healow) never lapses unused', 1, 80, 30),
  UPSTREAM_TIMEOUT_MS: Whole('Timeout of one FHIR request to Healow (waiting for headers, and between body chunks)', 1000, 600_000, 30_000),
  HEALOW_RATE_LIMIT_PER_MINUTE: Whole("Healow's request limit per practice per minute (FHIR and /token together); the gateway keeps 4% of it in reserve", 1, 1_000_000_000, 250),
  SYNC_INTERVAL_HOURS: Whole("How often the gateway syncs each connected patient's records (each connection's time moved by up to 10% either way); 0 = only on demand (POST /connections/{id}/sync)", 0, 24 * 365, 168),
  SYNC_MAX_BINARY_BYTES: Whole('Largest Binary (attachment) the sync stores, in bytes of Healow\'s answer; larger ones are skipped and named in the sync status', 0, 1024 * 1024 * 1024, 20 * 1024 * 1024),
  SYNC_LEASE_SECONDS: Whole("How long one instance holds a connection's sync against the others (renewed while it runs); a crashed instance's sync resumes elsewhere after it", 1, 3600, 60),
  FHIR_ALIAS_HOSTS: Text('Comma-separated origins that Healow also writes into Bundle links for the same practice; such links are rewritten to point back through the gateway', { default: 'http://fhir4.eclinicalworks.com,https://fhir4.eclinicalworks.com' })
})
export type Env = Static<typeof EnvSchema>

export type { Mode } from '../lib/tokens/scopes.js'

export interface Config extends Omit<Env, 'ALLOWED_ORIGINS'> {
  mode: Mode
  /** Origins allowed for return_to redirects and CORS: PUBLIC_URL's origin first. */
  allowedOrigins: string[]
  redirectUri: string
  databaseUrl: string
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

function describeSchemaError (name: string, error: { message: string, schema: { description?: string } }, present: boolean): string {
  if (!present) return `${name} is required: ${error.schema.description ?? ''}`.trim()
  return `${name} ${error.message.toLowerCase()}`
}

function checkUrl (name: string, value: string, problems: string[]): URL | undefined {
  let url: URL
  try { url = new URL(value) } catch { problems.push(`${name} must be an absolute http(s) URL, got "${value}"`); return }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`${name} must use http or https, got "${url.protocol}"`)
  else return url
}

function parseOrigins (value: string, problems: string[]): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean).flatMap((entry) => {
    const url = checkUrl('ALLOWED_ORIGINS', entry, problems)
    if (!url) return []
    if (url.pathname !== '/' || url.search || url.hash) {
      problems.push(`ALLOWED_ORIGINS entries must be bare origins like https://app.example.org, got "${entry}"`)
      return []
    }
    return [url.origin]
  })
}

function parseVaultKeyProblem (value: string): string | undefined {
  const bytes = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64')
  if (bytes.length !== 32) return 'VAULT_KEY must be 32 bytes, written as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)'
}

/**
 * Reads and validates the environment once. Throws ConfigError with one line per bad variable;
 * `warn` receives advice that does not stop start-up.
 */
export function loadConfig (source: NodeJS.ProcessEnv, warn: (message: string) => void = () => {}): Config {
  const known = Object.keys(EnvSchema.properties)
  const raw: Record<string, unknown> = {}
  for (const name of known) {
    const value = source[name]
    if (value !== undefined && value.trim() !== '') raw[name] = value.trim()
  }
  const env = Value.Convert(EnvSchema, Value.Default(EnvSchema, raw)) as Env
  const problems: string[] = []
  const seen = new Set<string>()
  for (const error of Value.Errors(EnvSchema, env)) {
    const name = error.path.replace(/^\//, '') || (error.message.match(/property '(\w+)'/)?.[1] ?? '')
    if (!name || seen.has(name)) continue
    seen.add(name)
    problems.push(describeSchemaError(name, error, raw[name] !== undefined))
  }

  let redirectUri = ''
  if (!seen.has('PUBLIC_URL')) {
    const url = checkUrl('PUBLIC_URL', env.PUBLIC_URL, problems)
    if (url) {
      if (url.search || url.hash || url.username || url.password) problems.push(`PUBLIC_URL must not carry a query, fragment or credentials, got "${env.PUBLIC_URL}"`)
      // The redirect URI registered at Healow is derived from it, so one canonical spelling matters.
      const base = url.origin + url.pathname.replace(/\/+$/, '')
      env.PUBLIC_URL = base
      redirectUri = `${base}/healow/callback`
      if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
        warn(`PUBLIC_URL is http:// on a non-loopback host (${url.hostname}); Healow only accepts HTTPS redirect URLs there`)
      }
    }
  }
  for (const name of ['HEALOW_AUTHORIZE_URL', 'HEALOW_TOKEN_URL'] as const) {
    if (!seen.has(name)) checkUrl(name, env[name], problems)
  }
  if (!seen.has('HEALOW_DIRECTORY_URL') && /^[a-z][a-z0-9+.-]*:\/\//i.test(env.HEALOW_DIRECTORY_URL)) {
    checkUrl('HEALOW_DIRECTORY_URL', env.HEALOW_DIRECTORY_URL, problems)
  }
  if (env.VAULT_KEY) {
    const problem = parseVaultKeyProblem(env.VAULT_KEY)
    if (problem) problems.push(problem)
  }
  if (!seen.has('REFRESH_LEASE_SECONDS') && !seen.has('TOKEN_REQUEST_TIMEOUT_MS')) {
    // One refresh is up to three token calls (the refresher's retries), each after up to 2 s in the
    // request budget's queue, about 2 s apart. A lease that lapses sooner lets another instance
    // spend the same single-use refresh token, and the connection needs a new login.
    const longestRefreshSeconds = Math.ceil((3 * (env.TOKEN_REQUEST_TIMEOUT_MS + 2_000) + 2_000) / 1000)
    if (env.REFRESH_LEASE_SECONDS < longestRefreshSeconds) {
      problems.push(`REFRESH_LEASE_SECONDS must be at least ${longestRefreshSeconds} (one refresh: 3 token calls of TOKEN_REQUEST_TIMEOUT_MS plus their waits), got ${env.REFRESH_LEASE_SECONDS}`)
    }
  }
  const databaseUrl = env.DATABASE_URL ?? `sqlite:${path.join(env.DATA_DIR, 'healow-sync.db')}`
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    problems.push(`DATABASE_URL must start with postgres://, postgresql:// or sqlite:, got "${databaseUrl.replace(/\/\/[^@/]*@/, '//…@')}"`)
  }
  const origins = parseOrigins(env.ALLOWED_ORIGINS, problems)
  if (problems.length > 0) throw new ConfigError(problems)

  const { ALLOWED_ORIGINS: _origins, ...rest } = env
  const publicOrigin = new URL(env.PUBLIC_URL).origin
  return {
    ...rest,
    // Confidential exactly when a secret is configured (a public client cannot keep one).
    mode: env.HEALOW_CLIENT_SECRET ? 'confidential' : 'public',
    allowedOrigins: [publicOrigin, ...origins.filter((o) => o !== publicOrigin)],
    redirectUri,
    databaseUrl
  }
}

declare module 'fastify' {
  interface FastifyInstance { config: Config }
}

export default fp<{ config: Config }>(async (app, { config }) => {
  app.decorate('config', config)
}, { name: 'config' })
