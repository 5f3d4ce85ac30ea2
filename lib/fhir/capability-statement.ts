/**
 * A practice's CapabilityStatement as the gateway serves it at /fhir/{connectionId}/metadata,
 * without the connection key: it describes the practice's FHIR server and holds no patient data.
 * SMART clients read it unauthenticated (fhirclient, for its FHIR version and a compartment's
 * search parameter), so it must answer without credentials.
 */

/** How a client authenticates here: the gateway is not a SMART authorization server. */
export function gatewaySecurity (publicUrl: string): { description: string } {
  return {
    description: 'Send the connection key (from POST /connections/claim) as "Authorization: Bearer <key>". ' +
      `This gateway is not a SMART authorization server: a patient connects at ${publicUrl}/healow/connect.`
  }
}

/**
 * Healow's statement with what would mislead a client through the gateway removed: the SMART
 * oauth-uris extension and security service (they send a SMART client to Healow's own login, whose
 * tokens the gateway never accepts), the CORS claim (Healow's, not ours) and Healow's address.
 * Undefined when the document is not a CapabilityStatement.
 */
export function gatewayCapabilityStatement (upstream: unknown, publicUrl: string): Record<string, unknown> | undefined {
  if (upstream === null || typeof upstream !== 'object' || Array.isArray(upstream)) return
  const statement = upstream as Record<string, unknown>
  if (statement.resourceType !== 'CapabilityStatement') return
  const implementation = statement.implementation as Record<string, unknown> | undefined
  const { url: _healowAddress, ...implementationWithoutUrl } = implementation !== null && typeof implementation === 'object' ? implementation : {}
  const rest = Array.isArray(statement.rest) ? statement.rest as unknown[] : []
  return {
    ...statement,
    ...(implementation !== undefined ? { implementation: implementationWithoutUrl } : {}),
    rest: rest.map((entry) => entry !== null && typeof entry === 'object' ? { ...entry, security: gatewaySecurity(publicUrl) } : entry)
  }
}

export interface CapabilityCacheOptions {
  /** How many practices' statements are kept; past that the oldest is dropped. */
  maxPractices?: number
  /** How long one is kept: a practice's server changes rarely. */
  ttlMs?: number
  now?: () => number
}

/**
 * The served statement (JSON text) per practice base, fetched once per `ttlMs` and shared by
 * concurrent callers, so that clients asking for metadata cost Healow (and the practice's request
 * budget) one request an hour, not one each. A failed fetch is not kept.
 */
export class CapabilityCache {
  readonly #entries = new Map<string, { text: string, expiresAt: number }>()
  readonly #loading = new Map<string, Promise<string>>()
  readonly #max: number
  readonly #ttlMs: number
  readonly #now: () => number

  constructor ({ maxPractices = 1000, ttlMs = 3_600_000, now = Date.now }: CapabilityCacheOptions = {}) {
    this.#max = maxPractices
    this.#ttlMs = ttlMs
    this.#now = now
  }

  get size (): number { return this.#entries.size }

  /** The statement of the practice at `fhirBase`; `load` fetches it when none is kept. */
  async get (fhirBase: string, load: () => Promise<string>): Promise<string> {
    const cached = this.#entries.get(fhirBase)
    if (cached !== undefined && cached.expiresAt > this.#now()) return cached.text
    const running = this.#loading.get(fhirBase)
    if (running !== undefined) return await running
    const loading = load().then((text) => {
      this.#entries.delete(fhirBase)
      if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!)
      this.#entries.set(fhirBase, { text, expiresAt: this.#now() + this.#ttlMs })
      return text
    }).finally(() => this.#loading.delete(fhirBase))
    this.#loading.set(fhirBase, loading)
    return await loading
  }
}
