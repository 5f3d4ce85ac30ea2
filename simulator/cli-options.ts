// The command line of the simulator: its options and what it prints.
import { parseArgs } from 'node:util'
import type { Simulator, SimulatorOptions } from './index.js'

export type ClientKind = 'public' | 'confidential'

export const USAGE = `Usage: npm run simulator -- [options]
  --port N                  listen port (default 0: any free port)
  --host H                  listen address (default 127.0.0.1)
  --auto-login              approve at once for the practice's demo patient (default: a login page)
  --client public|confidential   whose credentials to print (default confidential; both are registered)
  --redirect-uri URI        an exact redirect URI (repeatable; default any loopback port /healow/callback)
  --seed N                  synthetic data seed (default 1)
  --resources-per-type N    Observations per patient, other types in proportion (default 30)
  --page-size N             search page size (default 10)
  --access-token-ttl S      seconds (default 3600)
  --refresh-token-ttl S     seconds (default 90 days)
  --large-binary-bytes N    serve Binary/large of N bytes, streamed
  --rate-limit N|off        requests per minute per practice (default 250)
  --quirk-off NAME          turn a quirk off: aliasHostLinks, rejectCount, legacyContentType, affinityCookies (repeatable)
Change quirks and faults at run time: POST {url}/_sim/quirks, /_sim/faults (JSON).`

/** Throws an Error with a message for the user on a bad argument. */
export function parseCliOptions (args: string[]): { options: SimulatorOptions; client: ClientKind; help: boolean } {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'auto-login': { type: 'boolean', default: false },
      client: { type: 'string', default: 'confidential' },
      'redirect-uri': { type: 'string', multiple: true },
      seed: { type: 'string' },
      'resources-per-type': { type: 'string' },
      'page-size': { type: 'string' },
      'access-token-ttl': { type: 'string' },
      'refresh-token-ttl': { type: 'string' },
      'large-binary-bytes': { type: 'string' },
      'rate-limit': { type: 'string' },
      'quirk-off': { type: 'string', multiple: true },
      help: { type: 'boolean', default: false }
    }
  })
  const number = (name: keyof typeof values) => {
    const value = values[name]
    if (value === undefined) return undefined
    const parsed = Number(value)
    if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`--${name} must be a whole number, not ${String(value)}`)
    return parsed
  }
  if (values.client !== 'public' && values.client !== 'confidential') throw new Error('--client must be public or confidential')
  const quirks: NonNullable<SimulatorOptions['quirks']> = {}
  for (const name of values['quirk-off'] ?? []) {
    if (!['aliasHostLinks', 'rejectCount', 'legacyContentType', 'affinityCookies'].includes(name)) throw new Error(`unknown quirk ${name}`)
    Object.assign(quirks, { [name]: false })
  }
  if (values['rate-limit'] !== undefined) quirks.rateLimitPerMinute = values['rate-limit'] === 'off' ? null : number('rate-limit')
  return {
    help: values.help,
    client: values.client,
    options: {
      port: number('port'),
      host: values.host,
      autoLogin: values['auto-login'],
      redirectUris: values['redirect-uri'],
      seed: number('seed'),
      resourcesPerType: number('resources-per-type'),
      pageSize: number('page-size'),
      accessTokenTtl: number('access-token-ttl'),
      refreshTokenTtl: number('refresh-token-ttl'),
      largeBinaryBytes: number('large-binary-bytes'),
      quirks
    }
  }
}

/**
 * Everything a gateway needs to work against this simulator, paging included: its OAuth and
 * directory URLs, a client's credentials, the alias host its Bundle links point at (else the
 * gateway withholds them) and plain http on loopback (else it refuses the practices' URLs).
 */
export function gatewaySettings (
  sim: Pick<Simulator, 'authorizeUrl' | 'tokenUrl' | 'directoryUrl' | 'clients' | 'aliasBase'>,
  client: ClientKind,
  // Tests of withheld links leave the alias host out: then the gateway must not trust it.
  { aliasHosts = true }: { aliasHosts?: boolean } = {}
): Record<string, string> {
  return {
    HEALOW_AUTHORIZE_URL: sim.authorizeUrl,
    HEALOW_TOKEN_URL: sim.tokenUrl,
    HEALOW_DIRECTORY_URL: sim.directoryUrl,
    ...(client === 'confidential'
      ? {
          HEALOW_CLIENT_ID: sim.clients.confidential.clientId,
          HEALOW_CLIENT_SECRET: sim.clients.confidential.clientSecret
        }
      : { HEALOW_CLIENT_ID: sim.clients.public.clientId }),
    ...(aliasHosts ? { FHIR_ALIAS_HOSTS: sim.aliasBase } : {}),
    ALLOW_LOOPBACK_HTTP: 'true'
  }
}

/** KEY=VALUE lines for a .env file or a shell, then the practices as # comments. */
export function describeForGateway (sim: Simulator, client: ClientKind): string {
  return [
    ...Object.entries(gatewaySettings(sim, client)).map(([name, value]) => `${name}=${value}`),
    `# Healow simulator at ${sim.url} (alias host ${sim.aliasBase}); controls at ${sim.url}/_sim/{quirks,faults,counters,expire-tokens}`,
    '# The gateway also needs PUBLIC_URL (and PORT if not 3000), e.g. PUBLIC_URL=http://127.0.0.1:3000',
    '# practice | FHIR base | demo patient id | demo login',
    ...sim.practices.map((p) => `# ${p.id} "${p.name}" ${p.fhirBase} patient=${p.patientId} login=${p.login}`)
  ].join('\n')
}
