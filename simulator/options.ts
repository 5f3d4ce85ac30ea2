import { DEFAULT_PRACTICES, type PracticeListing } from './practices.js'

/** Healow's known oddities, as seen in recorded traffic; each one can be switched off. Defaults: as Healow. */
export interface Quirks {
  /** Bundle links and `entry.fullUrl` point at another origin than the request (`aliasBase`). */
  aliasHostLinks: boolean
  /** `_count` on CarePlan, CareTeam and Observation searches answers 400. */
  rejectCount: boolean
  /** FHIR responses say `Content-Type: application/json+fhir`. */
  legacyContentType: boolean
  /** Load-balancer affinity cookies on FHIR and token responses. */
  affinityCookies: boolean
  /** Requests per calendar minute per practice (FHIR, /authorize, /token); null = off. Healow: 250. */
  rateLimitPerMinute: number | null
  /** Goal searches answer `total: 50` with no entries (seen once at Healow, so off by default). */
  hollowGoalSearch: boolean
  /**
   * Bundle links and `entry.fullUrl` point at a host no gateway is told about
   * (UNKNOWN_LINK_ORIGIN): Healow has used a second host before and may add a third. Off by default.
   */
  unknownHostLinks: boolean
}

/** Where links point while the unknownHostLinks quirk is on; `.invalid` never resolves. */
export const UNKNOWN_LINK_ORIGIN = 'https://fhir-elsewhere.healow.invalid'

/** Failures to switch on at run time. */
export interface Faults {
  /** Added before every FHIR response. */
  latencyMs: number
  /** Share (0..1) of FHIR requests answered 500 or 503. */
  errorRate: number
  /** FHIR responses announce their full length, send half, then drop the connection. */
  resetMidBody: boolean
  /** Added before every token endpoint response. */
  tokenLatencyMs: number
  /** The token endpoint answers 503. */
  tokenDown: boolean
  /**
   * The token endpoint's front end answers 200, sends half of a JSON body and drops the
   * connection, before the authorization server sees the request (nothing is spent or issued).
   */
  tokenCutMidBody: boolean
  /** The next refresh_token grant answers invalid_grant (then the flag clears itself). */
  invalidGrantOnNextRefresh: boolean
  /** DocumentReference searches answer only after this many ms (one timed out at Healow); 0 = off. */
  documentReferenceDelayMs: number
}

export interface SimulatorOptions {
  /** 0 = ephemeral (default). */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Deterministic data: the same seed gives the same records. Default 1. */
  seed?: number
  practices?: PracticeListing[]
  /** Size knob: Observations per patient; other types are a share of it. Default 30. */
  resourcesPerType?: number
  /** Entries per search page when the client sends no `_count`. Default 10. */
  pageSize?: number
  /** Approve the login at once for the practice's demo patient. Default true. */
  autoLogin?: boolean
  /** Exact redirect URIs; default: any-port loopback `http://127.0.0.1:{port}/healow/callback` and `http://localhost:{port}/healow/callback`. */
  redirectUris?: string[]
  /** Seconds, default 3600. */
  accessTokenTtl?: number
  /** Seconds, default 90 days. */
  refreshTokenTtl?: number
  /** Bytes of `Binary/large`, streamed; 0 (default) = no such Binary. */
  largeBinaryBytes?: number
  /**
   * Practices whose CapabilityStatement declares (and that answer) `Patient/$everything`.
   * Default: the second practice.
   */
  everythingPractices?: string[]
  /**
   * Per practice, resource types whose searches answer 403 although the scope is granted.
   * Default: Device at the fourth practice.
   */
  refusedTypes?: Record<string, string[]>
  quirks?: Partial<Quirks>
  faults?: Partial<Faults>
}

export type ResolvedOptions = Required<Omit<SimulatorOptions, 'quirks' | 'faults' | 'redirectUris'>> & {
  redirectUris: string[] | undefined
  quirks: Quirks
  faults: Faults
}

export const HEALOW_QUIRKS: Quirks = {
  aliasHostLinks: true,
  rejectCount: true,
  legacyContentType: true,
  affinityCookies: true,
  rateLimitPerMinute: 250,
  hollowGoalSearch: false,
  unknownHostLinks: false
}

export const NO_FAULTS: Faults = {
  latencyMs: 0,
  errorRate: 0,
  resetMidBody: false,
  tokenLatencyMs: 0,
  tokenDown: false,
  tokenCutMidBody: false,
  invalidGrantOnNextRefresh: false,
  documentReferenceDelayMs: 0
}

export function resolveOptions (options: SimulatorOptions): ResolvedOptions {
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    seed: options.seed ?? 1,
    practices: options.practices ?? DEFAULT_PRACTICES,
    resourcesPerType: options.resourcesPerType ?? 30,
    pageSize: options.pageSize ?? 10,
    autoLogin: options.autoLogin ?? true,
    redirectUris: options.redirectUris,
    accessTokenTtl: options.accessTokenTtl ?? 3600,
    refreshTokenTtl: options.refreshTokenTtl ?? 90 * 24 * 3600,
    largeBinaryBytes: options.largeBinaryBytes ?? 0,
    everythingPractices: options.everythingPractices ??
      [(options.practices ?? DEFAULT_PRACTICES)[1]?.id].filter((id): id is string => id !== undefined),
    refusedTypes: options.refusedTypes ?? Object.fromEntries([(options.practices ?? DEFAULT_PRACTICES)[3]?.id].filter((id): id is string => id !== undefined).map((id) => [id, ['Device']])),
    quirks: { ...HEALOW_QUIRKS, ...options.quirks },
    faults: { ...NO_FAULTS, ...options.faults }
  }
}
