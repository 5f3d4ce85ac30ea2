import { setTimeout as sleep } from 'node:timers/promises'
import { bearer } from './connect.js'

export interface Pulled {
  /** `Type/id` → versionId, of every live resource pulled. */
  versions: Map<string, string>
  resources: Array<{ resourceType: string, id: string, meta?: { versionId?: string } }>
  deleted: string[]
  cursor: string
  pages: number
}

/** Pulls records?since= from `since` until `more` is false, as a client does. */
export async function pullRecords (gatewayUrl: string, connectionId: string, key: string, since = '0', limit = 500, type?: string): Promise<Pulled> {
  const pulled: Pulled = { versions: new Map(), resources: [], deleted: [], cursor: since, pages: 0 }
  for (;;) {
    const query = new URLSearchParams({ since: pulled.cursor, limit: String(limit), ...(type ? { type } : {}) })
    const res = await fetch(`${gatewayUrl}/connections/${connectionId}/records?${query}`, { headers: bearer(key) })
    if (res.status !== 200) throw new Error(`records answered ${res.status}: ${await res.text()}`)
    const page = await res.json() as { resources: Pulled['resources'], deleted: Array<{ resourceType: string, id: string }>, cursor: string, more: boolean }
    pulled.pages++
    for (const r of page.resources) {
      pulled.resources.push(r)
      pulled.versions.set(`${r.resourceType}/${r.id}`, r.meta?.versionId ?? '')
    }
    for (const d of page.deleted) pulled.deleted.push(`${d.resourceType}/${d.id}`)
    pulled.cursor = page.cursor
    if (!page.more) return pulled
  }
}

export interface SyncStatusBody {
  status: string
  syncId: string | null
  progress: {
    requests: number
    resources: number
    changed: number
    deleted: number
    types: Record<string, { status: string, resources: number, error?: string }>
  }
  lastError?: string
}

export async function syncStatus (gatewayUrl: string, connectionId: string, key: string): Promise<SyncStatusBody> {
  const res = await fetch(`${gatewayUrl}/connections/${connectionId}/sync`, { headers: bearer(key) })
  if (res.status !== 200) throw new Error(`sync status answered ${res.status}`)
  return await res.json() as SyncStatusBody
}

/** Starts a sync and waits until it is no longer running. */
export async function syncToEnd (gatewayUrl: string, connectionId: string, key: string, timeoutMs = 120_000) {
  const started = await fetch(`${gatewayUrl}/connections/${connectionId}/sync`, { method: 'POST', headers: bearer(key) })
  if (started.status !== 202) throw new Error(`sync start answered ${started.status}: ${await started.text()}`)
  return await waitForSync(gatewayUrl, connectionId, key, (s) => s.status !== 'running', timeoutMs)
}

export async function waitForSync (
  gatewayUrl: string, connectionId: string, key: string, until: (s: SyncStatusBody) => boolean, timeoutMs = 120_000
): Promise<SyncStatusBody> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await syncStatus(gatewayUrl, connectionId, key).catch(() => undefined)
    if (status !== undefined && until(status)) return status
    if (Date.now() > deadline) throw new Error(`sync did not get there in time: ${JSON.stringify(status)}`)
    await sleep(100)
  }
}

/**
 * What a client paging through the gateway's FHIR proxy sees: every search of every type to
 * its end, the Patient, and each Binary the DocumentReferences point at, as `Type/id` → versionId.
 */
export async function pageThroughProxy (
  gatewayUrl: string, connectionId: string, key: string, patientId: string, types: string[]
): Promise<Map<string, string>> {
  const fhir = `${gatewayUrl}/fhir/${connectionId}`
  const seen = new Map<string, string>()
  const binaries = new Set<string>()
  const get = async (url: string) => {
    const res = await fetch(url, { headers: { ...bearer(key), accept: 'application/fhir+json' } })
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`)
    return await res.json() as any
  }
  for (const type of types) {
    let next: string | undefined = type === 'Patient' ? `${fhir}/Patient?_id=${patientId}` : `${fhir}/${type}?patient=${patientId}`
    while (next !== undefined) {
      const bundle: any = await get(next)
      for (const entry of bundle.entry ?? []) {
        seen.set(`${entry.resource.resourceType}/${entry.resource.id}`, entry.resource.meta?.versionId ?? '')
        for (const content of entry.resource.content ?? []) if (typeof content.attachment?.url === 'string') binaries.add(content.attachment.url)
      }
      next = bundle.link?.find((l: any) => l.relation === 'next')?.url
    }
  }
  for (const ref of binaries) {
    const binary = await get(`${fhir}/${ref}`)
    seen.set(`Binary/${binary.id}`, binary.meta?.versionId ?? '')
  }
  return seen
}
