import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
import path from 'node:path'
import type { Mode } from './tokens/scopes.js'
import { webhookSecretProblem } from './webhooks/secret.js'
import { vaultKeyProblem } from './tokens/cipher.js'

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
  METRICS_PORT: Type.Optional(Type.Integer({ description: 'TCP port (on HOST) of a second listener that serves Prometheus metrics at GET /metrics; off when unset', minimum: 1, maximum: 65535 })),
  DATA_DIR: Text('Directory for the SQLite vault and the generated vault key', { default: './data', minLength: 1 }),
  DATABASE_URL: Type.Optional(Text('postgres://… for a shared PostgreSQL vault, or sqlite:<path>; default sqlite:{DATA_DIR}/healow-sync.db')),
  VAULT_KEY: Type.Optional(Text('32-byte key (64 hex characters or base64) that encrypts tokens at rest; generated into DATA_DIR when absent')),
  NEW_VAULT_KEY: Type.Optional(Text('Read by `healow-sync vault rekey` only: the key to re-encrypt every stored token under')),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { description: 'pino log level', default: 'info' }),
  LOG_FORMAT: Type.Union([Type.Literal('json'), Type.Literal('pretty'), Type.Literal('auto')], { description: 'json, pretty, or auto (pretty on a terminal)', default: 'auto' }),
  ALLOWED_ORIGINS: Text('Comma-separated origins (besides PUBLIC_URL) allowed as return_to targets and for CORS', { default: '' }),
  TRUST_PROXY: Text('Which X-Forwarded-* headers to trust, as Fastify does: true (all), false (none), a hop count, or a comma-separated list of proxy addresses and CIDR ranges (also loopback, linklocal, uniquelocal)', { default: 'false', minLength: 1 }),
  ALLOW_LOOPBACK_HTTP: Flag('Accept plain-http practice URLs on loopback hosts: for the local simulator only, never for Healow'),
  HEALOW_AUTHORIZE_URL: Text("Healow's OAuth authorize endpoint", { default: HEALOW_DEFAULTS.authorizeUrl }),
  HEALOW_TOKEN_URL: Text("Healow's OAuth token endpoint", { default: HEALOW_DEFAULTS.tokenUrl }),
  HEALOW_DIRECTORY_URL: Text("URL or file path of Healow's practice directory (FHIR Bundle of Endpoint + Organization)", { default: HEALOW_DEFAULTS.directoryUrl }),
  DIRECTORY_REFRESH_HOURS: Whole('How often the practice directory is re-fetched in the background', 1, 24 * 30, 24),
  MERE_VAULT_HANDLES: Flag("Mere compatibility: keep Healow's tokens in the vault and give Mere web opaque gateway handles instead"),
  TOKEN_REFRESH_MARGIN_SECONDS: Whole('Refresh an access token this long before it expires', 0, 3000, 300),
  TOKEN_REQUEST_TIMEOUT_MS: Whole("How long a caller waits for Healow's token endpoint; the call itself runs on and its answer is saved", 1000, 120_000, 10_000),
  REFRESH_LEASE_SECONDS: Whole("Bounds a refresh lease whose holder is alive but stuck; a lease is renewed while its refresh runs and ends with its holder's process", 1, 3600, 45),
  REFRESH_KEEPALIVE_DAYS: Whole('Refresh idle connections after this many days, so the refresh token (90 days at Healow) never lapses unused', 1, 80, 30),
  UPSTREAM_TIMEOUT_MS: Whole('Timeout of one FHIR request to Healow (waiting for headers, and between body chunks)', 1000, 600_000, 30_000),
  HEALOW_RATE_LIMIT_PER_MINUTE: Whole("Healow's request limit per practice per minute (FHIR and /token together); the gateway keeps 4% of it in reserve", 1, 1_000_000_000, 250),
  WEBHOOK_URL: Type.Optional(Text('https URL that receives signed webhooks (sync.succeeded, sync.failed, connection.reauth_required); needs WEBHOOK_SECRET')),
  WEBHOOK_SECRET: Type.Optional(Text('Standard Webhooks signing secret: whsec_ followed by the base64 of 24 to 64 random bytes')),
  SITE_TITLE: Text('Title of the pages a person sees in a browser (start page, connect pages, operator view)', { default: 'healow-sync', minLength: 1, maxLength: 80 }),
  ADMIN_TOKEN: Type.Optional(Text('Turns the operator view (/admin) and GET /admin/connections on; at least 32 characters (e.g. `openssl rand -hex 32`). Unset: those routes do not exist', { minLength: 32, maxLength: 512 })),
  SYNC_INTERVAL_HOURS: Whole("How often the gateway syncs each connected patient's records (each connection's time moved by up to 10% either way); 0 = only on demand (POST /connections/{id}/sync)", 0, 24 * 365, 168),
  SYNC_MAX_BINARY_BYTES: Whole('Largest Binary (attachment) the sync stores, in bytes of Healow\'s answer; larger ones are skipped and named in the sync status', 0, 1024 * 1024 * 1024, 20 * 1024 * 1024),
  SYNC_LEASE_SECONDS: Whole("How long one instance holds a connection's sync against the others (renewed while it runs); a crashed instance's sync resumes elsewhere after it", 1, 3600, 60),
  FHIR_ALIAS_HOSTS: Text('Comma-separated origins that Healow also writes into Bundle links for the same practice; such links are rewritten to point back through the gateway', { default: 'http://fhir4.eclinicalworks.com,https://fhir4.eclinicalworks.com' })
})
export type Env = Static<typeof EnvSchema>

export type { Mode } from './tokens/scopes.js'

/** Fastify's trustProxy: every hop, none, the nearest n hops, or the proxies at these addresses. */
export type TrustProxy = boolean | number | string[]

export interface Config extends Omit<Env, 'ALLOWED_ORIGINS' | 'FHIR_ALIAS_HOSTS' | 'NEW_VAULT_KEY' | 'TRUST_PROXY'> {
  trustProxy: TrustProxy
  mode: Mode
  /** Origins allowed for return_to redirects and CORS: PUBLIC_URL's origin first. */
  allowedOrigins: string[]
  /** FHIR_ALIAS_HOSTS: other origins Healow writes into a practice's Bundle links. */
  aliasOrigins: string[]
  redirectUri: string
  databaseUrl: string
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

interface VariableSchema {
  description?: string,
  anyOf?: Array<{ const?: unknown }>,
  type?: string,
  minimum?: number,
  maximum?: number
}

// Never echoed back in a start-up message: it would end up in a log.
const SECRET_VARIABLES = new Set(['HEALOW_CLIENT_SECRET', 'VAULT_KEY', 'DATABASE_URL'])

/** What a variable accepts, in words, from its schema. */
function allowedValues (schema: VariableSchema): string {
  if (schema.anyOf) return `one of ${schema.anyOf.map((option) => String(option.const)).join(', ')}`
  if (schema.type === 'integer') return `a whole number from ${schema.minimum} to ${schema.maximum}`
  if (schema.type === 'boolean') return 'true or false'
  return 'a non-empty text'
}

function describeSchemaError (name: string, schema: VariableSchema, value: unknown): string {
  if (value === undefined) return `${name} is required: ${schema.description ?? ''}`.trim()
  const shown = SECRET_VARIABLES.has(name) ? '' : `, got "${String(value).slice(0, 100)}"`
  return `${name} must be ${allowedValues(schema)}${shown}`
}

function checkUrl (name: string, value: string, problems: string[]): URL | undefined {
  let url: URL
  try { url = new URL(value) } catch { problems.push(`${name} must be an absolute http(s) URL, got "${value}"`); return }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`${name} must use http or https, got "${url.protocol}"`)
  else return url
}

/** A comma-separated list of bare http(s) origins; each bad entry is a problem named after `name`. */
function parseOrigins (name: 'ALLOWED_ORIGINS' | 'FHIR_ALIAS_HOSTS', value: string, problems: string[]): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean).flatMap((entry) => {
    const url = checkUrl(name, entry, problems)
    if (!url) return []
    if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
      problems.push(`${name} entries must be bare origins like https://app.example.org, got "${entry}"`)
      return []
    }
    return [url.origin]
  })
}

/** The name of one environment variable the gateway reads. */
export type EnvName = keyof Env
// The server reads every variable but the one the rekey command alone needs.
export const SERVER_SETTINGS = (Object.keys(EnvSchema.properties) as EnvName[]).filter((name) => name !== 'NEW_VAULT_KEY')

/** Where the store lives: what every operator command that opens the database needs. */
export const STORE_SETTINGS = ['DATA_DIR', 'DATABASE_URL'] as const satisfies readonly EnvName[]

/** DATABASE_URL, or the SQLite file in DATA_DIR. */
export function databaseUrlOf (env: Pick<Env, 'DATA_DIR' | 'DATABASE_URL'>): string {
  return env.DATABASE_URL ?? `sqlite:${path.join(env.DATA_DIR, 'healow-sync.db')}`
}

interface Checked {
  env: Env,
  problems: string[],
  redirectUri: string,
  origins: string[],
  aliasOrigins: string[],
  trustProxy: TrustProxy
}

// The names proxy-addr (Fastify's trustProxy) knows for the private ranges.
const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** TRUST_PROXY as Fastify takes it; each entry of a list must be an address, a CIDR range or a range name. */
export function parseTrustProxy (value: string, problems: string[]): TrustProxy {
  const text = value.trim().toLowerCase()
  if (text === 'true' || text === 'false') return text === 'true'
  if (/^\d+$/.test(text)) {
    const hops = Number(text)
    if (hops >= 1 && hops <= 32) return hops
    problems.push(`TRUST_PROXY as a hop count must be 1 to 32 (false trusts no proxy), got ${text}`)
    return false
  }
  const entries = text.split(',').map((entry) => entry.trim())
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/')
    const family = isIP(address)
    const maxPrefix = family === 6 ? 128 : 32
    const valid = TRUST_PROXY_NAMES.has(entry) || (family !== 0 && rest.length === 0 &&
      (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix)))
    if (!valid) problems.push(`TRUST_PROXY must be true, false, a hop count, or a comma-separated list of IP addresses, CIDR ranges (10.0.0.0/8) and loopback, linklocal or uniquelocal; "${entry}" is none of these`)
  }
  return entries
}

function checkWebhook (env: Env, problems: string[]): void {
  if (!env.WEBHOOK_URL !== !env.WEBHOOK_SECRET) {
    problems.push('WEBHOOK_URL and WEBHOOK_SECRET go together: set both to send webhooks, or neither')
    return
  }
  if (env.WEBHOOK_URL) {
    // Webhooks leave the machine with ids of patients' connections: only over TLS, except to a
    // receiver on this very host for development.
    const url = checkUrl('WEBHOOK_URL', env.WEBHOOK_URL, problems)
    if (url && url.protocol !== 'https:' && !(env.ALLOW_LOOPBACK_HTTP && LOOPBACK_HOSTS.has(url.hostname))) {
      problems.push(`WEBHOOK_URL must use https (plain http only to a loopback host with ALLOW_LOOPBACK_HTTP), got ${url.protocol}//${url.host}`)
    }
    // The HTTP client would drop them silently; the signature is what authenticates the gateway.
    if (url && (url.username || url.password)) problems.push('WEBHOOK_URL must not carry credentials (user:password@); receivers check the signature instead')
  }
  if (env.WEBHOOK_SECRET) {
    const problem = webhookSecretProblem(env.WEBHOOK_SECRET)
    if (problem) problems.push(problem)
  }
}

/**
 * Validates the variables in `names` only, against the one schema: an operator command asks for
 * what it uses and is not refused over a setting it never reads.
 */
function check (source: NodeJS.ProcessEnv, names: readonly EnvName[], warn: (message: string) => void): Checked {
  const schema = Type.Pick(EnvSchema, [...names])
  const wanted = new Set<string>(names)
  const raw: Record<string, unknown> = {}
  for (const name of names) {
    const value = source[name]
    if (value !== undefined && value.trim() !== '') raw[name] = value.trim()
  }
  const env = Value.Convert(schema, Value.Default(schema, raw)) as Env
  const problems: string[] = []
  const seen = new Set<string>()
  for (const error of Value.Errors(schema, env)) {
    const name = error.path.replace(/^\//, '') || (error.message.match(/property '(\w+)'/)?.[1] ?? '')
    if (!name || seen.has(name)) continue
    seen.add(name)
    problems.push(describeSchemaError(name, EnvSchema.properties[name as keyof Env] as VariableSchema, raw[name]))
  }
  // A cross-variable check runs only when every variable it reads was asked for and is valid.
  const usable = (...vars: EnvName[]): boolean => vars.every((name) => wanted.has(name) && !seen.has(name))

  let redirectUri = ''
  if (usable('PUBLIC_URL')) {
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
    if (usable(name)) checkUrl(name, env[name], problems)
  }
  if (usable('HEALOW_DIRECTORY_URL') && /^[a-z][a-z0-9+.-]*:\/\//i.test(env.HEALOW_DIRECTORY_URL)) {
    checkUrl('HEALOW_DIRECTORY_URL', env.HEALOW_DIRECTORY_URL, problems)
  }
  for (const name of ['VAULT_KEY', 'NEW_VAULT_KEY'] as const) {
    const value = usable(name) ? env[name] : undefined
    const problem = value === undefined ? undefined : vaultKeyProblem(name, value)
    if (problem) problems.push(problem)
  }
  if (usable('REFRESH_LEASE_SECONDS', 'TOKEN_REQUEST_TIMEOUT_MS')) {
    // One refresh is up to three token calls (the refresher's retries), each after up to 2 s in the
    // request budget's queue, about 2 s apart. A lease that lapses sooner lets another instance
    // spend the same single-use refresh token, and the connection needs a new login.
    const longestRefreshSeconds = Math.ceil((3 * (env.TOKEN_REQUEST_TIMEOUT_MS + 2_000) + 2_000) / 1000)
    if (env.REFRESH_LEASE_SECONDS < longestRefreshSeconds) {
      problems.push(`REFRESH_LEASE_SECONDS must be at least ${longestRefreshSeconds} (one refresh: 3 token calls of TOKEN_REQUEST_TIMEOUT_MS plus their waits), got ${env.REFRESH_LEASE_SECONDS}`)
    }
  }
  if (usable('DATA_DIR', 'DATABASE_URL')) {
    const databaseUrl = databaseUrlOf(env)
    if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
      problems.push(`DATABASE_URL must start with postgres://, postgresql:// or sqlite:, got "${databaseUrl.replace(/\/\/[^@/]*@/, '//…@')}"`)
    }
  }
  if (usable('METRICS_PORT', 'PORT') && env.METRICS_PORT === env.PORT) problems.push(`METRICS_PORT must differ from PORT (${env.PORT}): metrics have their own listener`)
  const origins = usable('ALLOWED_ORIGINS') ? parseOrigins('ALLOWED_ORIGINS', env.ALLOWED_ORIGINS, problems) : []
  const aliasOrigins = usable('FHIR_ALIAS_HOSTS') ? parseOrigins('FHIR_ALIAS_HOSTS', env.FHIR_ALIAS_HOSTS, problems) : []
  if (usable('WEBHOOK_URL', 'WEBHOOK_SECRET', 'ALLOW_LOOPBACK_HTTP')) checkWebhook(env, problems)
  const trustProxy = usable('TRUST_PROXY') ? parseTrustProxy(env.TRUST_PROXY, problems) : false
  return { env, problems, redirectUri, origins, aliasOrigins, trustProxy }
}

/**
 * Reads and validates only the named variables (an operator command's subset of the gateway's
 * settings). Throws ConfigError with one line per bad variable.
 */
export function loadSettings<K extends EnvName> (
  source: NodeJS.ProcessEnv,
  names: readonly K[],
  warn: (message: string) => void = () => {}
): Pick<Env, K> {
  const { env, problems } = check(source, names, warn)
  if (problems.length > 0) throw new ConfigError(problems)
  return env
}

/**
 * Reads and validates the environment once: everything the gateway needs to serve. Throws
 * ConfigError with one line per bad variable; `warn` receives advice that does not stop start-up.
 */
export function loadConfig (source: NodeJS.ProcessEnv, warn: (message: string) => void = () => {}): Config {
  const { env, problems, redirectUri, origins, aliasOrigins, trustProxy } = check(source, SERVER_SETTINGS, warn)
  if (problems.length > 0) throw new ConfigError(problems)

  const { ALLOWED_ORIGINS: _origins, FHIR_ALIAS_HOSTS: _aliases, TRUST_PROXY: _trustProxy, ...rest } = env
  const publicOrigin = new URL(env.PUBLIC_URL).origin
  return {
    ...rest,
    // Confidential exactly when a secret is configured (a public client cannot keep one).
    mode: env.HEALOW_CLIENT_SECRET ? 'confidential' : 'public',
    allowedOrigins: [publicOrigin, ...origins.filter((o) => o !== publicOrigin)],
    aliasOrigins,
    redirectUri,
    trustProxy,
    databaseUrl: databaseUrlOf(env)
  }
}

/** The process environment, with a .env file in the working directory under it (real variables win). */
export function processEnvironment (): NodeJS.ProcessEnv {
  if (existsSync('.env')) process.loadEnvFile('.env')
  return process.env
}

// What a helper process inherits: how Node reaches the network (certificate authorities, proxies),
// but none of the gateway's settings, so no secret crosses over, and not NODE_OPTIONS, whose
// preloads would run there without the settings they read.
const HELPER_PROCESS_VARIABLE = /^(NODE_[A-Z_]+|SSL_CERT_(FILE|DIR)|(HTTPS?|NO)_PROXY|PATH|TZ)$/i

/** The environment for a helper process of the gateway: process.env without the gateway's settings. */
export function helperProcessEnvironment (env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env)
    .filter(([name]) => HELPER_PROCESS_VARIABLE.test(name) && name.toUpperCase() !== 'NODE_OPTIONS'))
}
