import t from 'tap'
import { ConfigError, STORE_SETTINGS, loadConfig, loadSettings } from '../../lib/config.js'

const base = { HEALOW_CLIENT_ID: 'abc', PUBLIC_URL: 'https://gw.example.org' }

function problemsOf (
  env: Record<string, string>,
  load: (env: Record<string, string>) => unknown = loadConfig
): string[] {
  try {
    load(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('missing required variables are each named in plain words', async (t) => {
  const problems = problemsOf({})
  t.equal(problems.length, 2)
  t.match(problems[0], /^HEALOW_CLIENT_ID is required/)
  t.match(problems[1], /^PUBLIC_URL is required/)
})

t.test('mode is confidential exactly when a secret is set', async (t) => {
  t.equal(loadConfig(base).mode, 'public')
  t.equal(loadConfig({ ...base, HEALOW_CLIENT_SECRET: 's3cret-value' }).mode, 'confidential')
  t.equal(loadConfig({ ...base, HEALOW_CLIENT_SECRET: '  ' }).mode, 'public', 'a blank secret is no secret')
})

t.test('defaults and derived values', async (t) => {
  const config = loadConfig({ ...base, PUBLIC_URL: 'https://gw.example.org/sync/' })
  t.equal(config.PORT, 3000)
  t.equal(config.HOST, '127.0.0.1')
  t.equal(config.PUBLIC_URL, 'https://gw.example.org/sync', 'trailing slash dropped')
  t.equal(config.redirectUri, 'https://gw.example.org/sync/healow/callback')
  t.equal(config.databaseUrl, 'sqlite:data/healow-sync.db')
  t.match(config.HEALOW_AUTHORIZE_URL, /^https:\/\/oauthserver\.eclinicalworks\.com\//)
  t.same(config.allowedOrigins, ['https://gw.example.org'])
})

t.test('bad values get one clear line each', async (t) => {
  const problems = problemsOf({
    ...base,
    PUBLIC_URL: 'gw.example.org',
    PORT: 'eighty',
    LOG_LEVEL: 'loud',
    VAULT_KEY: 'short',
    ALLOWED_ORIGINS: 'https://ok.example.org, https://bad.example.org/path',
    DATABASE_URL: 'mysql://x',
    HEALOW_TOKEN_URL: 'ftp://x'
  })
  t.match(problems.join('\n'), /PUBLIC_URL must be an absolute http\(s\) URL/)
  t.match(problems.join('\n'), /PORT must be a whole number from 0 to 65535, got "eighty"/)
  t.match(problems.join('\n'), /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/)
  t.match(problems.join('\n'), /VAULT_KEY must be 32 bytes/)
  t.match(problems.join('\n'), /ALLOWED_ORIGINS entries must be bare origins/)
  t.match(problems.join('\n'), /DATABASE_URL must start with/)
  t.match(problems.join('\n'), /HEALOW_TOKEN_URL must use http or https/)
  t.equal(problems.length, 7)
})

t.test('PUBLIC_URL with a query or credentials is refused', async (t) => {
  t.match(problemsOf({ ...base, PUBLIC_URL: 'https://u:p@gw.example.org' })[0], /must not carry/)
  t.match(problemsOf({ ...base, PUBLIC_URL: 'https://gw.example.org/?x=1' })[0], /must not carry/)
})

t.test('plain http on a public host is allowed with a warning; loopback is not warned about', async (t) => {
  const warnings: string[] = []
  loadConfig({ ...base, PUBLIC_URL: 'http://gw.example.org' }, (w) => warnings.push(w))
  loadConfig({ ...base, PUBLIC_URL: 'http://127.0.0.1:3000' }, (w) => warnings.push(w))
  t.equal(warnings.length, 1)
  t.match(warnings[0], /HTTPS/)
})

t.test('a valid VAULT_KEY in hex or base64 is accepted', async (t) => {
  t.doesNotThrow(() => loadConfig({ ...base, VAULT_KEY: 'ab'.repeat(32) }))
  t.doesNotThrow(() => loadConfig({ ...base, VAULT_KEY: Buffer.alloc(32, 7).toString('base64') }))
})

t.test('REFRESH_LEASE_SECONDS must outlast one refresh with its retries', async (t) => {
  t.equal(loadConfig(base).REFRESH_LEASE_SECONDS, 45)
  t.match(problemsOf({ ...base, REFRESH_LEASE_SECONDS: '30' }), [/^REFRESH_LEASE_SECONDS must be at least 38 /])
  t.equal(loadConfig({ ...base, REFRESH_LEASE_SECONDS: '11', TOKEN_REQUEST_TIMEOUT_MS: '1000' }).REFRESH_LEASE_SECONDS, 11)
})

t.test('a bad value is echoed with what is allowed', async (t) => {
  t.match(problemsOf({ ...base, LOG_FORMAT: 'xml' }), ['LOG_FORMAT must be one of json, pretty, auto, got "xml"'])
  t.match(problemsOf({ ...base, DIRECTORY_REFRESH_HOURS: '0' }), ['DIRECTORY_REFRESH_HOURS must be a whole number from 1 to 720, got "0"'])
})

t.test('a subset of the settings is validated alone: what an operator command reads, nothing else', async (t) => {
  const settings = loadSettings({ DATA_DIR: '/srv/hs', PORT: 'eighty' }, [...STORE_SETTINGS, 'VAULT_KEY'])
  t.same(settings, { DATA_DIR: '/srv/hs' }, 'no HEALOW_CLIENT_ID or PUBLIC_URL needed, PORT not read')
  t.match(problemsOf({ VAULT_KEY: 'short', DATABASE_URL: 'mysql://x' }, (env) => loadSettings(env, [...STORE_SETTINGS, 'VAULT_KEY'])),
    [/^VAULT_KEY must be 32 bytes/, /^DATABASE_URL must start with/])
  t.match(problemsOf({ NEW_VAULT_KEY: 'short' }, (env) => loadSettings(env, ['NEW_VAULT_KEY'])), [/^NEW_VAULT_KEY must be 32 bytes/])
  t.doesNotThrow(() => loadConfig({ ...base, NEW_VAULT_KEY: 'short' }), 'the server does not read the rekey command\'s key')
})

t.test('METRICS_PORT is off by default, a port otherwise, and not PORT', async (t) => {
  t.equal(loadConfig(base).METRICS_PORT, undefined)
  t.equal(loadConfig({ ...base, METRICS_PORT: '9464' }).METRICS_PORT, 9464)
  t.match(problemsOf({ ...base, METRICS_PORT: '3000' }), [/^METRICS_PORT must differ from PORT \(3000\)/])
  t.match(problemsOf({ ...base, METRICS_PORT: '70000' }), [/^METRICS_PORT /])
})

t.test('TRUST_PROXY: true, false, a hop count, or a list of addresses and ranges, as Fastify takes them', async (t) => {
  t.equal(loadConfig(base).trustProxy, false)
  t.equal(loadConfig({ ...base, TRUST_PROXY: 'true' }).trustProxy, true)
  t.equal(loadConfig({ ...base, TRUST_PROXY: '2' }).trustProxy, 2)
  t.same(loadConfig({ ...base, TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8, 192.0.2.7' }).trustProxy, ['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.7'])
  t.match(problemsOf({ ...base, TRUST_PROXY: '0' }), [/^TRUST_PROXY as a hop count must be 1 to 32/])
  for (const bad of ['yes', '10.0.0.0/33', '10.0.0/8', 'fd00::/129', 'loopback,', '10.0.0.1/8/8', 'example.org']) {
    t.match(problemsOf({ ...base, TRUST_PROXY: bad }), [/^TRUST_PROXY must be true, false, a hop count, or a comma-separated list/], bad)
  }
})

t.test('FHIR_ALIAS_HOSTS is read once into origins, with the near-miss entries refused at start-up', async (t) => {
  t.same(loadConfig({ ...base, FHIR_ALIAS_HOSTS: ' https://fhir4.example.org , http://alias.example.org/ ' }).aliasOrigins,
    ['https://fhir4.example.org', 'http://alias.example.org'])
  for (const entry of ['https://fhir4.example.org/fhir', 'https://user@fhir4.example.org', 'https://fhir4.example.org/?x=1', 'ftp://fhir4.example.org', 'fhir4.example.org']) {
    const problems = problemsOf({ ...base, FHIR_ALIAS_HOSTS: `https://ok.example.org,${entry}` })
    t.equal(problems.length, 1, entry)
    t.match(problems[0], /^FHIR_ALIAS_HOSTS (entries must be bare origins|must be an absolute http\(s\) URL|must use http or https)/, entry)
  }
})
