import { isSecureEnough, type AddressPolicy, type OAuthEndpoints } from './practice.js'
import { fetch } from '../http-client.js'

export interface SmartDiscoveryOptions extends AddressPolicy {
  timeoutMs?: number
  /** How long a practice's answer is reused; practices rarely move their OAuth server. */
  cacheMs?: number
}

/**
 * Reads a practice's OAuth endpoints from `{fhirBase}/.well-known/smart-configuration`, on demand, with a
 * short timeout; answers are cached, concurrent lookups of one practice share one request, failures are not kept.
 */
export class SmartDiscovery {
  private readonly cache = new Map<string, { expiresAt: number, endpoints: Promise<OAuthEndpoints> }>()
  private readonly timeoutMs: number
  private readonly cacheMs: number

  constructor (private readonly options: SmartDiscoveryOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5_000
    this.cacheMs = options.cacheMs ?? 6 * 60 * 60 * 1000
  }

  lookup (fhirBase: string): Promise<OAuthEndpoints> {
    const cached = this.cache.get(fhirBase)
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.endpoints
    const endpoints = this.fetchEndpoints(fhirBase)
    this.cache.set(fhirBase, { expiresAt: Date.now() + this.cacheMs, endpoints })
    endpoints.catch(() => this.cache.delete(fhirBase))
    return endpoints
  }

  private async fetchEndpoints (fhirBase: string): Promise<OAuthEndpoints> {
    const url = `${fhirBase}/.well-known/smart-configuration`
    const response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } })
    if (!response.ok) {
      await response.body?.cancel()
      throw new Error(`SMART discovery: HTTP ${response.status} from ${url}`)
    }
    const document = await response.json() as Record<string, unknown>
    return {
      authorizeUrl: this.endpoint(document, 'authorization_endpoint', url),
      tokenUrl: this.endpoint(document, 'token_endpoint', url)
    }
  }

  private endpoint (document: Record<string, unknown>, field: string, url: string): string {
    const value = document?.[field]
    let parsed: URL | undefined
    try { parsed = typeof value === 'string' ? new URL(value) : undefined } catch {}
    if (parsed === undefined || !isSecureEnough(parsed, this.options)) {
      throw new Error(`SMART discovery: ${url} has no usable https ${field}`)
    }
    return parsed.href
  }
}
