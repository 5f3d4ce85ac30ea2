import type { DirectoryStore } from '../store/types.js'
import { compareDirectories, type DirectoryChanges } from './changes.js'
import { collectDirectory, type CollectDirectory, type CollectedDirectory, type CollectOptions } from './collect.js'
import { collectInChildProcess } from './import-process.js'
import type { AddressPolicy, OAuthEndpoints, Practice } from './practice.js'
import { PracticeSearchIndex } from './search-index.js'
import { runSlicesAsync } from './slices.js'
import { SmartDiscovery } from './smart-discovery.js'
import { isStoredPractice, storedPracticesJson } from './stored-copy.js'
import { GatewayError } from '../errors.js'
import type { PartLog } from '../log.js'

export type DirectoryLog = PartLog

export interface TenantDirectoryOptions {
  /** URL or file path of the Bundle. */
  source: string
  /** The shared OAuth server every practice uses unless its SMART discovery is asked for. */
  oauth: OAuthEndpoints
  store: DirectoryStore
  log: DirectoryLog
  refreshIntervalMs: number
  addressPolicy?: AddressPolicy
  fetchTimeoutMs?: number
  /** Refuses a larger document (readDirectoryEntries' default when absent). */
  maxBytes?: number
  /** How a refresh reads and parses the document: in a process of its own unless another way is given. */
  collect?: CollectDirectory
}

export interface ImportResult extends DirectoryChanges, CollectedDirectory {}

export interface DirectoryPage {
  practices: Practice[]
  total: number
  /** Present when there are more: pass it back as `cursor` for the next page. */
  nextCursor?: string
}

export interface DirectoryStatus {
  ready: boolean
  /** Why the directory is not ready, or where the one in use comes from. */
  detail: string
  practices: number
  fetchedAt: string | null
  source: string | null
  lastError: string | null
}

/** Errors whose message is meant for the caller, with the HTTP status that fits. */
export class DirectoryRequestError extends GatewayError {
  constructor (statusCode: 400 | 503, message: string) {
    super(statusCode, statusCode === 400 ? 'invalid_request' : 'service_unavailable', message)
  }
}

/**
 * Fetches and parses a directory and compares it with the practices known before; the one import path
 * of both the background refresh and the command line.
 */
export async function importDirectory (
  source: string,
  previous: readonly Practice[],
  options: CollectOptions & { collect?: CollectDirectory }
): Promise<ImportResult> {
  const { collect = collectDirectory, ...collectOptions } = options
  const parsed = await collect(source, collectOptions)
  // An empty directory is far likelier a broken download than Healow dropping every practice.
  if (parsed.practices.length === 0) throw new Error('the directory has no usable practice')
  return { ...parsed, ...await runSlicesAsync(compareDirectories(previous, parsed.practices)) }
}

/** The search index, built in slices: the requests that come meanwhile are answered from the copy in use. */
function indexInSlices (practices: readonly Practice[]): Promise<PracticeSearchIndex> {
  return runSlicesAsync(PracticeSearchIndex.build(practices))
}

interface Cursor { after?: string, offset?: number }

function encodeCursor (cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url')
}

function decodeCursor (cursor: string): Cursor {
  try {
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor
    if (typeof decoded.after === 'string' || (Number.isInteger(decoded.offset) && decoded.offset! >= 0)) return decoded
  } catch {}
  throw new DirectoryRequestError(400, 'the cursor is not one this service returned; start again without it')
}

/**
 * The practice directory: serves the last good copy from the store at once, refreshes from Healow in the
 * background, and never lets Healow's availability decide whether the service starts.
 */
export class TenantDirectory {
  private index: PracticeSearchIndex | null = null
  private fetchedAt: string | null = null
  private loadedFrom: string | null = null
  private lastError: string | null = null
  private refreshing: Promise<ImportResult> | null = null
  private timer: NodeJS.Timeout | undefined
  private readonly closing = new AbortController()
  private readonly discovery: SmartDiscovery

  constructor (private readonly options: TenantDirectoryOptions) {
    this.discovery = new SmartDiscovery(options.addressPolicy)
  }

  /** Installs the stored copy (if any), then refreshes in the background and on the interval. */
  async start (): Promise<void> {
    try {
      const snapshot = await this.options.store.loadSnapshot()
      if (snapshot !== null) {
        // The OAuth URLs are not taken from the snapshot: the configuration may have changed since.
        const practices = snapshot.practices.filter(isStoredPractice)
          .map(({ id, name, fhirBase }) => ({ id, name, fhirBase, ...this.options.oauth }))
        this.install(await indexInSlices(practices), snapshot.fetchedAt, snapshot.source)
        this.options.log.info({ practices: practices.length, fetchedAt: snapshot.fetchedAt }, 'practice directory loaded from the store')
      }
    } catch (err) {
      this.lastError = `the stored copy could not be read: ${(err as Error).message}`
      this.options.log.warn({ err }, 'practice directory: stored copy unreadable')
    }
    this.refreshInBackground()
    this.timer = setInterval(() => this.refreshInBackground(), this.options.refreshIntervalMs).unref()
  }

  /** Stops the timer and any download, and waits for a refresh in flight so that it does not outlive the store. */
  async close (): Promise<void> {
    clearInterval(this.timer)
    this.closing.abort()
    await this.refreshing?.catch(() => {})
  }

  /** Fetches the configured source now; one refresh at a time (a second caller shares the first). */
  refresh (): Promise<ImportResult> {
    this.refreshing ??= this.fetchAndInstall().finally(() => { this.refreshing = null })
    return this.refreshing
  }

  status (): DirectoryStatus {
    const ready = this.index !== null
    const reason = this.lastError ?? (this.refreshing !== null ? 'first download in progress' : 'not fetched yet')
    return {
      ready,
      detail: ready ? `${this.index!.size} practices from ${this.loadedFrom} at ${this.fetchedAt}` : `directory not loaded yet: ${reason}`,
      practices: this.index?.size ?? 0,
      fetchedAt: this.fetchedAt,
      source: this.loadedFrom,
      lastError: this.lastError
    }
  }

  /** A practice by id (case-insensitive); throws a 503 DirectoryRequestError while no directory is loaded. */
  get (id: string): Practice | undefined {
    return this.requireIndex().get(id)
  }

  /** Best matches first; an empty query lists by name. Paged with an opaque cursor. */
  search (query: string, limit: number, cursor?: string): DirectoryPage {
    const index = this.requireIndex()
    const offset = cursor === undefined ? 0 : decodeCursor(cursor).offset ?? 0
    let page
    try {
      page = index.search(query, limit, offset)
    } catch (err) {
      throw new DirectoryRequestError(400, (err as Error).message)
    }
    const next = offset + page.practices.length
    return { ...page, ...(next < page.total ? { nextCursor: encodeCursor({ offset: next }) } : {}) }
  }

  /** Every practice by name. The cursor names the last practice seen, so it survives a refresh. */
  list (cursor: string | undefined, limit: number): DirectoryPage {
    const index = this.requireIndex()
    const after = cursor === undefined ? undefined : decodeCursor(cursor).after
    const from = after === undefined ? 0 : index.ordinalAfter(after)
    const practices = index.practices.slice(from, from + limit)
    const last = from + practices.length - 1
    return {
      practices,
      total: index.size,
      ...(last + 1 < index.size ? { nextCursor: encodeCursor({ after: index.orderKeyOf(last) }) } : {})
    }
  }

  /** The practice's OAuth endpoints: the shared server, or its own SMART discovery when asked (falling back). */
  async oauthEndpoints (practice: Practice, { discover = false } = {}): Promise<OAuthEndpoints> {
    const shared = { authorizeUrl: practice.authorizeUrl, tokenUrl: practice.tokenUrl }
    if (!discover) return shared
    try {
      return await this.discovery.lookup(practice.fhirBase)
    } catch (err) {
      this.options.log.warn({ err, practice: practice.id }, 'SMART discovery failed; using the shared OAuth server')
      return shared
    }
  }

  private requireIndex (): PracticeSearchIndex {
    if (this.index === null) throw new DirectoryRequestError(503, this.status().detail)
    return this.index
  }

  private install (index: PracticeSearchIndex, fetchedAt: string, source: string): void {
    this.index = index
    this.fetchedAt = fetchedAt
    this.loadedFrom = source
  }

  private refreshInBackground (): void {
    this.refresh().catch(() => {}) // already logged and kept in lastError
  }

  private async fetchAndInstall (): Promise<ImportResult> {
    const { source, oauth, addressPolicy, fetchTimeoutMs, maxBytes } = this.options
    const lowPriority = this.index !== null
    const collect = this.options.collect ??
      ((source, options) => collectInChildProcess(source, { ...options, lowPriority }))
    try {
      const result = await importDirectory(source, this.index?.practices ?? [], {
        oauth, addressPolicy, timeoutMs: fetchTimeoutMs, maxBytes, signal: this.closing.signal, collect
      })
      const fetchedAt = new Date().toISOString()
      this.install(result.index ?? await indexInSlices(result.practices), fetchedAt, source)
      this.lastError = null
      const practicesJson = result.storedCopyJson ?? await runSlicesAsync(storedPracticesJson(result.practices))
      await this.options.store.saveSnapshot({ fetchedAt, source, practicesJson })
      const { added, changed, removed, skipped } = result
      this.options.log.info({ practices: result.practices.length, added, changed, removed, skipped }, 'practice directory refreshed')
      return result
    } catch (err) {
      this.lastError = `${source}: ${(err as Error).message}`
      if (!this.closing.signal.aborted) {
        this.options.log.warn({ err, source }, 'practice directory refresh failed; keeping the copy in use')
      }
      throw err
    }
  }
}
