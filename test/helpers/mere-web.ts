import { createHash, randomBytes } from 'node:crypto'
import { PatientBrowser, isHealowCallback } from '../../simulator/browser.js'
import type { Stack } from './connect.js'

/**
 * Plays Mere web's part of the Healow flow (the calls Mere web's own code makes to its server):
 * it sends the patient to Healow itself with its own redirect URI and PKCE, then hands the code to
 * its server — here, the gateway's Mere-compatible endpoints — with the Origin of its page.
 */
export class MereWeb {
  readonly origin: string
  readonly redirectUri: string

  constructor (readonly stack: Stack) {
    this.origin = stack.gw.config.PUBLIC_URL
    this.redirectUri = `${this.origin}/healow/callback`
  }

  private headers (): Record<string, string> {
    return { 'content-type': 'application/json', origin: this.origin }
  }

  async tenants (query = ''): Promise<Array<{ id: string, name: string, url: string, token: string, authorize: string }>> {
    return await (await fetch(`${this.origin}/api/v1/healow/r4/tenants?query=${encodeURIComponent(query)}`, { headers: { origin: this.origin } })).json() as never
  }

  /** Healow login in the patient's browser; returns the code Healow sent to Mere's redirect URI. */
  async authorize (tenantId: string): Promise<{ code: string, codeVerifier: string }> {
    const tenant = (await this.tenants(tenantId)).find((t) => t.id === tenantId)
    if (!tenant) throw new Error(`no tenant ${tenantId}`)
    const codeVerifier = randomBytes(32).toString('base64url')
    const url = new URL(tenant.authorize)
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.stack.gw.config.HEALOW_CLIENT_ID,
      redirect_uri: this.redirectUri,
      scope: 'openid fhirUser patient/Patient.read patient/Observation.read patient/Condition.read' + (this.stack.mode === 'confidential' ? ' offline_access' : ''),
      state: randomBytes(16).toString('hex'),
      aud: tenant.url,
      code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
      code_challenge_method: 'S256'
    }).toString()
    const walk = await new PatientBrowser().followUntil(url, isHealowCallback)
    const code = walk.finalUrl.searchParams.get('code')
    if (!code) throw new Error(`no code at ${walk.finalUrl}`)
    return { code, codeVerifier }
  }

  async exchange (
    tenantId: string,
    code: string,
    codeVerifier: string
  ): Promise<{ status: number, body: Record<string, unknown> }> {
    const res = await fetch(`${this.origin}/api/v1/healow/token`, {
      method: 'POST', headers: this.headers(), body: JSON.stringify({ code, redirect_uri: this.redirectUri, code_verifier: codeVerifier, tenant_id: tenantId })
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }

  async refresh (tenantId: string, refreshToken: string): Promise<{ status: number, body: Record<string, unknown> }> {
    const res = await fetch(`${this.origin}/api/v1/healow/refresh`, {
      method: 'POST', headers: this.headers(), body: JSON.stringify({ refresh_token: refreshToken, tenant_id: tenantId })
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }

  /**
   * Public mode: the code exchange goes through the relay to Healow's token URL, without a secret,
   * exactly as Mere web's createHealowClientWithProxy sends it: no target parameter, a
   * URLSearchParams body, Content-Type set by hand, no Accept and no Authorization header.
   */
  async exchangeViaRelay (tenantId: string, code: string, codeVerifier: string, { contentType = 'application/x-www-form-urlencoded' } = {}): Promise<{ status: number, body: Record<string, unknown> }> {
    const res = await fetch(`${this.origin}/api/proxy?vendor=healow&serviceId=${tenantId}&target_type=token`, {
      method: 'POST',
      headers: { 'Content-Type': contentType, origin: this.origin },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.redirectUri, client_id: this.stack.gw.config.HEALOW_CLIENT_ID, code_verifier: codeVerifier })
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }

  /**
   * Every entry of a search, page by page, the way Mere follows `next`: the link made relative to
   * the practice's base path (whatever host Healow wrote it on) and sent through the relay again.
   */
  async searchAll (
    tenantId: string,
    baseUrl: string,
    firstTarget: string,
    accessToken: string
  ): Promise<{ ids: string[], pages: number, bodies: string[] }> {
    const basePath = new URL(baseUrl).pathname
    const ids: string[] = []
    const bodies: string[] = []
    let target: string | undefined = firstTarget
    let pages = 0
    while (target !== undefined && pages < 100) {
      const res = await this.proxy(tenantId, target, accessToken)
      const text = await res.text()
      if (res.status !== 200) throw new Error(`page ${pages + 1} answered ${res.status}: ${text.slice(0, 300)}`)
      bodies.push(text)
      const bundle = JSON.parse(text) as {
        entry?: Array<{ resource: { id: string } }>,
        link?: Array<{ relation: string, url: string }>
      }
      ids.push(...(bundle.entry ?? []).map((e) => e.resource.id))
      pages++
      const next = bundle.link?.find((l) => l.relation === 'next')?.url
      target = next === undefined ? undefined : (() => { const u = new URL(next); return u.pathname.slice(basePath.length).replace(/^\//, '') + u.search })()
    }
    return { ids, pages, bodies }
  }

  /**
   * `/api/proxy` as Mere calls it: the target URL-encoded, the browser's own bearer header, Mere's
   * Accept (Healow's pre-R4 spelling). A browser sends no Origin on a same-origin GET, only the
   * page's Referer; it sends Origin on a POST.
   */
  async proxy (tenantId: string, target: string, accessToken: string | undefined, init: { method?: string, body?: string, targetType?: 'base' | 'token', headers?: Record<string, string> } = {}): Promise<Response> {
    const query = new URLSearchParams({ vendor: 'healow', serviceId: tenantId, target, target_type: init.targetType ?? 'base' })
    const method = init.method ?? 'GET'
    const page: Record<string, string> = method === 'GET' || method === 'HEAD' ? { referer: `${this.origin}/timeline` } : { origin: this.origin }
    return await fetch(`${this.origin}/api/proxy?${query}`, {
      method,
      body: init.body,
      headers: { ...page, accept: 'application/json+fhir', ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}), ...init.headers }
    })
  }
}
