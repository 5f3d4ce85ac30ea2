import type { ConnectionRow, Store } from '../store/types.js'
import type { RequestBudget } from '../budget/sliding-window.js'
import { PracticeLinks } from '../fhir/bundle-links.js'
import { R4_RESOURCE_TYPES } from '../fhir/resource-types.js'
import { parsePracticeBase } from '../fhir/target.js'
import type { Clock } from './clock.js'
import type { SyncProgress } from './progress.js'
import type { FhirResource, RecordSealer } from './sealing.js'
import { SyncUpstream, TooLargeError, type UpstreamAnswer } from './upstream.js'

/** A search page is held in memory while it is sealed; Healow's pages are far smaller. */
const MAX_PAGE_BYTES = 20 * 1024 * 1024
/** A runaway paging chain (a server linking a page to itself) ends here. */
const MAX_PAGES_PER_STEP = 100_000
/** Found by reference, read one by one: the types a record points at. */
const REFERENCED_TYPES = ['Practitioner', 'Organization', 'Location', 'Medication'] as const
const REFERENCE = /^(Practitioner|Organization|Location|Medication|Binary)\/([A-Za-z0-9\-.]{1,64})$/
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/
const READ_BATCH = 50
const SEARCH_CONCURRENCY = 2

export interface SyncEngineDeps {
  store: Store
  sealer: RecordSealer
  budget: RequestBudget
  clock: Clock
  /** Slots of the practice's window left to interactive reads. */
  keepFree: number
  aliasOrigins: readonly string[]
  timeoutMs: number
  maxBinaryBytes: number
  accessToken: (rejected?: string) => Promise<string>
  /** Called whenever the progress moved (after each page). */
  onProgress: (progress: SyncProgress) => void
  retryDelaysMs?: number[]
  /** Where a step's paging chain is cut off (tests lower it). */
  maxPagesPerStep?: number
}

/** Where a step of the run stands: the next page to fetch, or done. */
interface StepState { next: string | null, done: boolean, pages: number }

/** The resource types `patient/X.read` (SMART v1) or `patient/X.rs` (v2) scopes grant, `*` meaning all. */
export function grantedTypes (scope: string): Set<string> {
  const granted = new Set<string>()
  for (const item of scope.split(' ')) {
    const match = /^patient\/([A-Za-z]+|\*)\.(read|\*|c?r?u?d?s)$/.exec(item)
    if (!match || (match[2] !== 'read' && match[2] !== '*' && !match[2].includes('r') && !match[2].includes('s'))) continue
    if (match[1] === '*') for (const type of R4_RESOURCE_TYPES) granted.add(type)
    else if (R4_RESOURCE_TYPES.has(match[1])) granted.add(match[1])
  }
  return granted
}

/** Whether the CapabilityStatement declares `Patient/$everything`. */
export function declaresEverything (capability: unknown): boolean {
  type Operations = Array<{ name?: unknown }>
  const rest = (capability as { rest?: Array<{ resource?: Array<{ type?: unknown, operation?: Operations }> }> })?.rest
  if (!Array.isArray(rest)) return false
  return rest.some((r) => (Array.isArray(r.resource) && r.resource.some((res) => res.type === 'Patient' && Array.isArray(res.operation) &&
    res.operation.some((op) => op.name === 'everything' || op.name === 'Patient-everything'))))
}

/**
 * One run of one connection's sync: `Patient/$everything` where the practice declares it, else
 * (or when it fails) a search per granted type, each paged to the end; then `Patient/{id}` and
 * the Practitioner/Organization/Location/Medication/Binary resources the records reference.
 * Every page commits with its checkpoint, so a run interrupted anywhere continues from its last
 * page. Resources the complete types no longer list are marked deleted at the end, never earlier.
 */
export class SyncRun {
  readonly #upstream: SyncUpstream
  readonly #links: PracticeLinks
  readonly #base: string
  readonly #granted: Set<string>
  /**
   * References met and referenced resources stored by this process in this run. Complete only for
   * a run started here from its first page; a resumed run finds them by reading its records back.
   */
  readonly #references = { wanted: new Set<string>(), seen: new Set<string>(), complete: false }
  /** A Binary's text as Healow sent it: sealed as it is rather than printed again (megabytes each). */
  readonly #rawText = new WeakMap<FhirResource, string>()
  // The commit under way; the next one waits for it (see commit).
  #committing: Promise<void> = Promise.resolve()

  constructor (
    private readonly deps: SyncEngineDeps,
    private readonly connection: Pick<ConnectionRow, 'id' | 'practiceId' | 'fhirBase' | 'patientId' | 'scope'>,
    private readonly runId: string,
    private readonly progress: SyncProgress,
    private readonly checkpoints: Map<string, string>,
    signal: AbortSignal
  ) {
    const base = parsePracticeBase(connection.fhirBase)
    this.#base = base.origin + base.path
    // Links are vetted as the proxy vets them, and rebuilt on the practice's own base (alias hosts included).
    this.#links = new PracticeLinks(base, deps.aliasOrigins, this.#base)
    this.#granted = grantedTypes(connection.scope)
    this.#references.complete = checkpoints.size === 0
    this.#upstream = new SyncUpstream({
      connectionId: connection.id,
      practiceId: connection.practiceId,
      budget: deps.budget,
      keepFree: deps.keepFree,
      accessToken: deps.accessToken,
      clock: deps.clock,
      timeoutMs: deps.timeoutMs,
      signal,
      onRequest: () => { this.progress.requests++ },
      retryDelaysMs: deps.retryDelaysMs
    })
  }

  /** Types searched by patient: every granted one but Patient (read by id) and Binary (by reference). */
  searchTypes (): string[] {
    return [...this.#granted].filter((t) => t !== 'Patient' && t !== 'Binary').sort()
  }

  async run (): Promise<SyncProgress> {
    const types = this.searchTypes()
    for (const type of types) this.progress.types[type] ??= { status: 'pending', resources: 0 }
    if (!await this.everything(types)) {
      // Two searches at a time: a page's round trip no longer paces the whole sync, while the
      // budget still decides when each request goes.
      const queue = [...types]
      const outcomes = await Promise.allSettled(Array.from({ length: SEARCH_CONCURRENCY }, async () => {
        try {
          for (let type = queue.shift(); type !== undefined; type = queue.shift()) await this.searchType(type)
        } catch (err) {
          queue.length = 0 // the other search stops after its current page
          throw err
        }
      }))
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')
      if (failed !== undefined) throw failed.reason
    }
    await this.readPatient()
    await this.readReferences()
    const complete = Object.entries(this.progress.types).filter(([, p]) => p.status === 'done').map(([type]) => type)
      .filter((type) => type !== 'Binary')
    this.progress.deleted += await this.deps.store.sync.deleteUnseen(this.connection.id, this.runId, complete)
    this.deps.onProgress(this.progress)
    return this.progress
  }

  private step (name: string): StepState | undefined {
    const sealed = this.checkpoints.get(name)
    if (sealed === undefined) return undefined
    try {
      return this.deps.sealer.openCheckpoint<StepState>(this.runId, name, sealed)
    } catch {
      return undefined // sealed under an earlier vault key: the step starts again (nothing is stored twice)
    }
  }

  /** `Patient/$everything`, when declared; false when the run must search type by type instead. */
  private async everything (types: string[]): Promise<boolean> {
    if (!this.#granted.has('Patient')) return false
    let state = this.step('everything')
    if (state !== undefined && state.next === null && !state.done) return false // it failed before the interruption
    if (state === undefined) {
      const meta = this.step('metadata')
      let declared: boolean
      if (meta !== undefined) declared = meta.done
      else {
        const answer = await this.#upstream.get(`${this.#base}/metadata`, MAX_PAGE_BYTES)
        declared = answer.status === 200 && declaresEverything(safeJson(answer.text))
        await this.commit([], { step: 'metadata', state: { next: null, done: declared, pages: 0 } })
      }
      if (!declared) return false
      // Stryker disable next-line BooleanLiteral: equivalent; a step with a next page is fetched whatever its done says
      state = { next: `${this.#base}/Patient/${encodeURIComponent(this.connection.patientId)}/$everything`, done: false, pages: 0 }
    }
    // A step found done on resume fetches nothing here, but its types are still to be marked done: its
    // last page was committed (with the progress) before they were.
    const ok = await this.pages('everything', state)
    if (!ok) return false
    for (const type of types) {
      const p = this.progress.types[type]
      p.status = 'done'
    }
    // Stryker disable next-line BooleanLiteral: equivalent; the type searches skip types already done
    return true
  }

  private async searchType (type: string): Promise<void> {
    const progress = this.progress.types[type]
    if (progress.status === 'done' || progress.status === 'skipped') return
    const state = this.step(`type:${type}`) ?? { next: `${this.#base}/${type}?patient=${encodeURIComponent(this.connection.patientId)}`, done: false, pages: 0 }
    if (!state.done) progress.status = 'running'
    // Also for a step found done on resume: its last page was committed while its progress said running.
    await this.pages(`type:${type}`, state)
    if (progress.status === 'running') progress.status = 'done'
  }

  /**
   * Fetches pages from `state.next` to the end, committing each with the next link and the
   * granted resources on it (a searched type is granted too). False when the practice refused
   * (the step's types are marked skipped or failed, the run goes on).
   */
  private async pages (step: string, state: StepState): Promise<boolean> {
    const type = step.startsWith('type:') ? step.slice(5) : undefined
    while (state.next !== null) {
      const answer = await this.#upstream.get(state.next, MAX_PAGE_BYTES)
      type Bundle = { resourceType?: unknown, entry?: unknown, link?: unknown }
      const bundle = answer.status === 200 ? safeJson(answer.text) as Bundle | undefined : undefined
      if (bundle?.resourceType !== 'Bundle') {
        if (type !== undefined) this.refuse(type, answer, state.pages)
        else await this.commit([], { step, state: { next: null, done: false, pages: state.pages } })
        return false
      }
      const resources = entriesOf(bundle).filter((resource) => this.#granted.has(resource.resourceType))
      const next = nextLink(bundle)
      const vetted = next === undefined ? null : this.#links.rewrite(next) ?? null
      state = { next: vetted, done: vetted === null, pages: state.pages + 1 }
      if (next !== undefined && vetted === null) {
        if (type === undefined) {
          // $everything cut short cannot say which records are gone: the run searches type by type instead.
          await this.commit(resources, { step, state: { ...state, done: false } }, { count: true })
          return false
        }
        this.progress.types[type] = { ...this.progress.types[type], status: 'failed', error: 'a paging link led outside the practice; not followed' }
      }
      if (state.pages >= (this.deps.maxPagesPerStep ?? MAX_PAGES_PER_STEP)) state = { ...state, next: null, done: true }
      await this.commit(resources, { step, state }, { count: true })
    }
    return true
  }

  private refuse (type: string, answer: UpstreamAnswer, pages: number): void {
    const p = this.progress.types[type]
    const why = answer.status === 200 ? 'answered something that is not a Bundle' : `answered ${answer.status}`
    // A refusal on the first page is the practice saying no to the type; later, a broken paging chain.
    this.progress.types[type] = { ...p, status: pages === 0 ? 'skipped' : 'failed', error: `Healow ${why}` }
  }

  private countResource (type: string): void {
    this.progress.resources++
    const p = this.progress.types[type] ??= { status: 'running', resources: 0 }
    p.resources++
  }

  /**
   * Seals what changed, re-confirms the rest, and commits it with the progress and the step's checkpoint if any
   * (`count`: the resources are counted in the progress as they are committed). One commit at a time, each
   * counting its own page just before it is written: with two searches at once, the progress written with
   * one page would otherwise count the other's page too, and after a crash before that one was written, the
   * resumed run, which fetches it again, counts it twice.
   */
  private async commit (
    resources: FhirResource[],
    checkpoint?: { step: string, state: StepState },
    { count = false }: { count?: boolean } = {}
  ): Promise<void> {
    const previous = this.#committing
    let done = (): void => {}
    this.#committing = new Promise((resolve) => { done = resolve })
    await previous
    try {
      await this.writeCommit(resources, checkpoint, count)
    } finally {
      done()
    }
  }

  private async writeCommit (
    resources: FhirResource[],
    checkpoint: { step: string, state: StepState } | undefined,
    count: boolean
  ): Promise<void> {
    if (count) for (const r of resources) this.countResource(r.resourceType)
    const { sealer, store } = this.deps
    const id = this.connection.id
    const unique = new Map(resources.map((r) => [sealer.digest(id, r.resourceType, r.id), r]))
    const existing = await store.sync.existing(id, [...unique.keys()])
    const changed = []
    const seen = []
    for (const [digest, resource] of unique) {
      this.noteReferences(resource)
      const json = (): string => this.#rawText.get(resource) ?? JSON.stringify(resource)
      const before = existing.get(digest)
      const version = resource.meta?.versionId
      // A record marked deleted keeps no body.
      const live = before !== undefined && before.body !== null
      const same = live && (version !== undefined && version !== null
        ? before.version === String(version)
        : sealer.openBody(id, resource, before.body!) === json())
      if (same) seen.push({ type: resource.resourceType, idDigest: digest })
      else changed.push(sealer.seal(id, resource, json()))
    }
    this.progress.changed += changed.length
    await store.sync.writePage(id, this.runId, {
      changed,
      seen,
      checkpoint: checkpoint === undefined
        ? undefined
        : { step: checkpoint.step, state: sealer.sealCheckpoint(this.runId, checkpoint.step, checkpoint.state) },
      progress: JSON.stringify(this.progress)
    })
    this.deps.onProgress(this.progress)
  }

  private noteReferences (resource: FhirResource): void {
    const ref = `${resource.resourceType}/${resource.id}`
    if (REFERENCE.test(ref)) this.#references.seen.add(ref)
    collectReferences(resource, this.#references.wanted)
  }

  /** Referenced `Type/id`s and those this run has stored; read back from the store when the run was resumed. */
  private async referencesOfRun (): Promise<{ wanted: Set<string>, seen: Set<string> }> {
    if (this.#references.complete) return this.#references
    const { store, sealer } = this.deps
    const id = this.connection.id
    const seen = new Set<string>()
    const wanted = new Set<string>()
    for (let after = 0; ;) {
      const batch = await store.sync.seenInRun(id, this.runId, after, 500)
      if (batch.length === 0) break
      for (const row of batch) {
        after = row.seq
        const ref = sealer.openRef(id, row.ref)
        seen.add(`${ref.resourceType}/${ref.id}`)
        if (row.body !== null) collectReferences(JSON.parse(sealer.openBody(id, ref, row.body)), wanted)
      }
    }
    return { wanted, seen }
  }

  private async readPatient (): Promise<void> {
    if (!this.#granted.has('Patient')) return
    const p = this.progress.types.Patient ??= { status: 'pending', resources: 0 }
    if (p.status === 'done' || p.status === 'skipped') return
    const answer = await this.#upstream.get(`${this.#base}/Patient/${encodeURIComponent(this.connection.patientId)}`, MAX_PAGE_BYTES)
    const patient = answer.status === 200 ? asResource(safeJson(answer.text)) : undefined
    if (patient?.resourceType !== 'Patient') {
      this.progress.types.Patient = { ...p, status: 'skipped', error: `Healow answered ${answer.status}` }
      await this.commit([])
      return
    }
    this.countResource('Patient')
    p.status = 'done'
    await this.commit([patient])
  }

  /**
   * Reads the referenced resources this run has not seen yet. Run again after an interruption it
   * finds only those still missing (the run's stored records say which), so it needs no checkpoint.
   * A Binary already stored is not fetched again: its id names one version of its content.
   */
  private async readReferences (): Promise<void> {
    const { store, sealer } = this.deps
    const id = this.connection.id
    const { wanted, seen } = await this.referencesOfRun()
    const missing = [...wanted].filter((ref) => !seen.has(ref) && this.#granted.has(ref.slice(0, ref.indexOf('/'))))
    const binaries = missing.filter((ref) => ref.startsWith('Binary/'))
    const stored = binaries.length > 0
      ? await store.sync.existing(id, binaries.map((ref) => sealer.digest(id, 'Binary', ref.slice(7))))
      : new Map()
    let batch: FhirResource[] = []
    const keptBinaries: Array<{ type: string, idDigest: string }> = []
    for (const ref of missing) {
      const [type, resourceId] = ref.split('/')
      if (type === 'Binary') {
        const digest = sealer.digest(id, 'Binary', resourceId)
        const before = stored.get(digest)
        if (before !== undefined && !before.deleted) {
          keptBinaries.push({ type, idDigest: digest })
          continue
        }
      }
      const resource = await this.read(type, resourceId)
      if (resource !== undefined) batch.push(resource)
      if (batch.length >= READ_BATCH) {
        await this.commit(batch)
        batch = []
      }
    }
    if (batch.length > 0 || keptBinaries.length > 0) {
      await this.commit(batch)
      if (keptBinaries.length > 0) await store.sync.writePage(id, this.runId, { changed: [], seen: keptBinaries })
    }
    // Types met only by reference (Binary, or one whose search was not granted) are done once read.
    for (const type of [...REFERENCED_TYPES, 'Binary']) {
      const p = this.progress.types[type]
      if (p !== undefined && (p.status === 'pending' || p.status === 'running')) p.status = 'done'
    }
  }

  private async read (type: string, resourceId: string): Promise<FhirResource | undefined> {
    const maxBytes = type === 'Binary' ? this.deps.maxBinaryBytes : MAX_PAGE_BYTES
    let answer: UpstreamAnswer
    try {
      answer = await this.#upstream.get(`${this.#base}/${type}/${resourceId}`, maxBytes)
    } catch (err) {
      if (!(err instanceof TooLargeError)) throw err
      this.note(type, `larger than ${maxBytes} bytes (SYNC_MAX_BINARY_BYTES); not stored`)
      return undefined
    }
    const resource = answer.status === 200 ? asResource(safeJson(answer.text)) : undefined
    if (resource?.resourceType !== type) {
      this.note(type, `Healow answered ${answer.status} to a read`)
      return undefined
    }
    this.countResource(type)
    if (type === 'Binary') this.#rawText.set(resource, answer.text)
    return resource
  }

  /** A problem with single resources of a type: named in its progress, the run goes on. */
  private note (type: string, error: string): void {
    const p = this.progress.types[type] ??= { status: 'pending', resources: 0 }
    p.error = error
  }
}

function safeJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function asResource (value: unknown): FhirResource | undefined {
  const r = value as FhirResource | undefined
  return typeof r === 'object' && r !== null && typeof r.resourceType === 'string' && R4_RESOURCE_TYPES.has(r.resourceType) &&
    typeof r.id === 'string' && FHIR_ID.test(r.id)
    ? r
    : undefined
}

function entriesOf (bundle: { entry?: unknown }): FhirResource[] {
  if (!Array.isArray(bundle.entry)) return []
  const resources: FhirResource[] = []
  for (const entry of bundle.entry as Array<{ resource?: unknown, search?: { mode?: unknown } }>) {
    if (entry?.search?.mode === 'outcome') continue
    const resource = asResource(entry?.resource)
    if (resource !== undefined && resource.resourceType !== 'OperationOutcome') resources.push(resource)
  }
  return resources
}

function nextLink (bundle: { link?: unknown }): string | undefined {
  if (!Array.isArray(bundle.link)) return undefined
  const next = (bundle.link as Array<{ relation?: unknown, url?: unknown }>).find((l) => l?.relation === 'next')
  return typeof next?.url === 'string' ? next.url : undefined
}

/** Adds every relative `Type/id` reference (and attachment URL) to a referenced type found in `value`. */
export function collectReferences (value: unknown, into: Set<string>, depth = 0): void {
  if (depth > 20 || typeof value !== 'object' || value === null) return
  if (Array.isArray(value)) {
    for (const item of value) collectReferences(item, into, depth + 1)
    return
  }
  for (const [key, item] of Object.entries(value)) {
    if ((key === 'reference' || key === 'url') && typeof item === 'string' && REFERENCE.test(item)) into.add(item)
    else if (typeof item === 'object') collectReferences(item, into, depth + 1)
  }
}
