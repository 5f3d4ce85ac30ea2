import t, { type Test } from 'tap'
import { SlidingWindowBudget } from '../../../lib/budget/sliding-window.js'
import { systemClock } from '../../../lib/sync/clock.js'
import { SyncRun } from '../../../lib/sync/engine.js'
import { emptyProgress, parseProgress, skippedTypes } from '../../../lib/sync/progress.js'
import { RecordSealer } from '../../../lib/sync/sealing.js'
import { pagedPractice, type PagedPractice } from '../../helpers/fhir-pages.js'
import { SANDBOX_CONNECTION, openTestVault } from '../../helpers/vault.js'

// Each step of a sync (a type's search, $everything, the metadata check) commits every page with
// its next link, sealed; these tests interrupt runs and resume them as the sync service does.

const obs = (n: number, extra: object = {}) => ({ resourceType: 'Observation', id: `obs-${n}`, meta: { versionId: '1' }, ...extra })
const cond = (n: number) => ({ resourceType: 'Condition', id: `cond-${n}`, meta: { versionId: '1' } })
const DOCTOR = { resourceType: 'Practitioner', id: 'dr-1', meta: { versionId: '1' }, name: [{ family: 'Who' }] }
const PATIENT = { resourceType: 'Patient', id: 'pat-1', meta: { versionId: '1' } }

async function syncOn (t: Test, practice: PagedPractice, scope: string, deps: { maxPagesPerStep?: number } = {}) {
  const { store, vault } = await openTestVault(t)
  const sealer = new RecordSealer(vault.recordCipher)
  const connectionId = await vault.create({ ...SANDBOX_CONNECTION, practiceId: 'PAGING', fhirBase: practice.base, patientId: 'pat-1', scope })
  const connection = (await store.connections.get(connectionId))!
  const budget = new SlidingWindowBudget({ limit: 100_000 })
  /** One run of the engine: a new one (fresh id) or, given its id, progress and checkpoints, a resumed one. */
  const run = async (runId: string, progress = emptyProgress(), checkpoints = new Map<string, string>()) => {
    if (checkpoints.size === 0 && progress.requests === 0) await store.sync.createRun({ id: runId, connectionId, startedAt: Date.now(), progress: '{}' })
    return await new SyncRun({
      store,
      sealer,
      budget,
      clock: systemClock,
      keepFree: 0,
      aliasOrigins: [],
      timeoutMs: 5_000,
      maxBinaryBytes: 1_000_000,
      accessToken: async () => 'token',
      onProgress: () => {},
      retryDelaysMs: [],
      ...deps
    }, connection, runId, progress, checkpoints, new AbortController().signal).run()
  }
  /** What an interrupted run left in the store, as the sync service reads it to resume. */
  const leftBy = async (runId: string) => ({
    progress: parseProgress((await store.sync.latestRun(connectionId))!.progress),
    checkpoints: await store.sync.checkpoints(runId)
  })
  const open = (runId: string, checkpoints: Map<string, string>) =>
    Object.fromEntries([...checkpoints].map(([step, sealed]) => [step, sealer.openCheckpoint(runId, step, sealed)]))
  const stored = async () => {
    const changes = await store.sync.changes(connectionId, 0, 1000)
    return changes.map((c) => { const ref = sealer.openRef(connectionId, c.ref); return `${ref.resourceType}/${ref.id}` }).sort()
  }
  return { run, leftBy, open, stored, store, sealer, connectionId }
}

const interruption = async (promise: Promise<unknown>) => await promise.then(() => undefined, (err: Error) => err)

t.test('a search interrupted mid-way continues from its last page; finished steps are not repeated; nothing is stored twice', async (t) => {
  const practice = await pagedPractice(t, {
    pages: {
      Observation: [[obs(1, { performer: [{ reference: 'Practitioner/dr-1' }] }), obs(2, { performer: [{ reference: 'Practitioner/dr-2' }] })], [obs(3), obs(4)]],
      // Searched alongside, and longer: still paging when the Observation search stops the run.
      Condition: [[cond(1)], [cond(2)], [cond(3)], [cond(4)]],
      Practitioner: [[DOCTOR]]
    },
    reads: { 'Practitioner/dr-1': DOCTOR, 'Practitioner/dr-2': { ...DOCTOR, id: 'dr-2' } }
  })
  // AllergyIntolerance has no pages: the practice refuses its search (400), and the type is skipped.
  const s = await syncOn(t, practice, 'patient/AllergyIntolerance.read patient/Observation.read patient/Condition.read patient/Practitioner.read')
  practice.failWhen = (r) => r.startsWith('/Observation') && r.includes('page=2')
  t.match(await interruption(s.run('run-1')), { message: /Healow answered 500; the sync continues from its last checkpoint later/ })

  const left = await s.leftBy('run-1')
  t.same(s.open('run-1', left.checkpoints), {
    'type:Condition': { next: null, done: true, pages: 4 },
    'type:Observation': { next: `${practice.base}/Observation?patient=pat-1&page=2`, done: false, pages: 1 }
  }, 'each step checkpointed with its next page; the type not started has none')
  // Saved with the last page, before the finished search was marked done: the resumed run finishes that.
  t.match(left.progress, {
    resources: 6,
    changed: 6,
    types: { AllergyIntolerance: { status: 'skipped' }, Condition: { status: 'running', resources: 4 }, Observation: { status: 'running', resources: 2 } }
  })

  practice.failWhen = () => false
  practice.requests.length = 0
  const progress = await s.run('run-1', left.progress, left.checkpoints)
  t.same(practice.requests, ['/Observation?patient=pat-1&page=2', '/Practitioner?patient=pat-1', '/Practitioner/dr-2'],
    'from the page it stopped at, not the skipped type again; of the references found before the interruption (read back ' +
    'from what the run stored), only the one not stored yet')
  t.match(progress, {
    resources: 10,
    changed: 10,
    types: { Condition: { status: 'done', resources: 4 }, Observation: { status: 'done', resources: 4 }, Practitioner: { status: 'done', resources: 2 } }
  })
  t.same(await s.stored(), [
    'Condition/cond-1', 'Condition/cond-2', 'Condition/cond-3', 'Condition/cond-4',
    'Observation/obs-1', 'Observation/obs-2', 'Observation/obs-3', 'Observation/obs-4',
    'Practitioner/dr-1', 'Practitioner/dr-2'
  ])
})

t.test("a run does not open another run's checkpoints: it starts its steps again", async (t) => {
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)], [obs(2)]] } })
  const s = await syncOn(t, practice, 'patient/Observation.read')
  practice.failWhen = (r) => r.includes('page=2')
  t.ok(await interruption(s.run('run-1')))
  const left = await s.leftBy('run-1')
  t.throws(() => s.sealer.openCheckpoint('run-2', 'type:Observation', left.checkpoints.get('type:Observation')!), 'sealed for its run')
  t.throws(() => s.sealer.openCheckpoint('run-1', 'type:Condition', left.checkpoints.get('type:Observation')!), 'and its step')
  practice.failWhen = () => false
  practice.requests.length = 0
  await s.store.sync.createRun({ id: 'run-2', connectionId: s.connectionId, startedAt: Date.now(), progress: '{}' })
  const progress = await s.run('run-2', emptyProgress(), left.checkpoints)
  t.same(practice.requests, ['/Observation?patient=pat-1', '/Observation?patient=pat-1&page=2'], 'from the first page')
  t.match(progress, { resources: 2, changed: 1, types: { Observation: { status: 'done', resources: 2 } } }, 'the first page already stored: not changed')
})

t.test('$everything: the metadata answer and each page are checkpointed; a resumed run asks neither again', async (t) => {
  const practice = await pagedPractice(t, {
    pages: { $everything: [[PATIENT, obs(1), cond(1)], [obs(2)], [cond(2)]] },
    reads: { 'Patient/pat-1': PATIENT }
  })
  practice.everything = true
  const s = await syncOn(t, practice, 'patient/Patient.read patient/Observation.read patient/Condition.read')
  practice.failWhen = (r) => r.includes('page=3')
  t.ok(await interruption(s.run('run-1')))
  const left = await s.leftBy('run-1')
  t.same(s.open('run-1', left.checkpoints), {
    metadata: { next: null, done: true, pages: 0 },
    everything: { next: `${practice.base}/Patient/pat-1/$everything?page=3`, done: false, pages: 2 }
  })
  // Resumed, and interrupted again just after the last $everything page was saved (types still pending in it).
  practice.failWhen = (r) => r === '/Patient/pat-1'
  practice.requests.length = 0
  t.ok(await interruption(s.run('run-1', left.progress, left.checkpoints)))
  t.same(practice.requests, ['/Patient/pat-1/$everything?page=3', '/Patient/pat-1'], 'no metadata, no earlier page')
  const saved = await s.leftBy('run-1')
  t.match(saved.progress.types, { Observation: { status: 'pending' }, Condition: { status: 'pending' } })
  practice.failWhen = () => false
  practice.requests.length = 0
  t.match(await s.run('run-1', saved.progress, saved.checkpoints), {
    resources: 6,
    types: { Observation: { status: 'done', resources: 2 }, Condition: { status: 'done', resources: 2 }, Patient: { status: 'done' } }
  }, 'resumed again: the types of the finished $everything are done')
  t.same(practice.requests, ['/Patient/pat-1'], 'and nothing of it is asked again')
})

t.test('a practice without $everything: the metadata answer is checkpointed too, and types are searched', async (t) => {
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)], [obs(2)]] }, reads: { 'Patient/pat-1': PATIENT } })
  const s = await syncOn(t, practice, 'patient/Patient.read patient/Observation.read')
  practice.failWhen = (r) => r.includes('page=2')
  t.ok(await interruption(s.run('run-1')))
  const left = await s.leftBy('run-1')
  t.match(s.open('run-1', left.checkpoints), { metadata: { next: null, done: false, pages: 0 } })
  practice.failWhen = () => false
  practice.requests.length = 0
  await s.run('run-1', left.progress, left.checkpoints)
  t.same(practice.requests, ['/Observation?patient=pat-1&page=2', '/Patient/pat-1'], 'no second metadata request')
})

t.test('an $everything that failed is not tried again on resume: its types are searched', async (t) => {
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)], [obs(2)]] }, reads: { 'Patient/pat-1': PATIENT } })
  practice.everything = true // declared, but the practice answers 400 to it
  const s = await syncOn(t, practice, 'patient/Patient.read patient/Observation.read')
  practice.failWhen = (r) => r.includes('page=2')
  t.ok(await interruption(s.run('run-1')))
  const left = await s.leftBy('run-1')
  t.match(s.open('run-1', left.checkpoints), { metadata: { done: true }, everything: { next: null, done: false, pages: 0 } })
  practice.failWhen = () => false
  practice.requests.length = 0
  t.match(await s.run('run-1', left.progress, left.checkpoints), { types: { Observation: { status: 'done', resources: 2 } } })
  t.same(practice.requests, ['/Observation?patient=pat-1&page=2', '/Patient/pat-1'])
})

t.test('a page the practice refuses: the first is a refusal of the type, a later one a broken chain', async (t) => {
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)], [obs(2)]] } })
  const s = await syncOn(t, practice, 'patient/Observation.read patient/Condition.read')
  practice.failWhen = (r) => r.includes('page=2')
  const first = await interruption(s.run('run-1'))
  t.ok(first)
  // Condition has no pages: the practice answers 400 to its search.
  const left = await s.leftBy('run-1')
  t.match(left.progress.types, { Condition: { status: 'skipped', error: 'Healow answered 400' } })
  t.same(skippedTypes(left.progress), ['Condition'])
})

t.test('a paging link that leads outside the practice is not followed: the type failed, the run goes on', async (t) => {
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)], [obs(2)]], Condition: [[cond(1)]] } })
  practice.linkBase = practice.base.replace(/:\d+\//, ':9/')
  const s = await syncOn(t, practice, 'patient/Observation.read patient/Condition.read')
  const progress = await s.run('run-1')
  t.match(progress.types, {
    Observation: { status: 'failed', resources: 1, error: 'a paging link led outside the practice; not followed' },
    Condition: { status: 'done', resources: 1 }
  })
  t.same(skippedTypes(progress), ['Observation'])
  t.same(s.open('run-1', await s.store.sync.checkpoints('run-1'))['type:Observation'], { next: null, done: true, pages: 1 })
  t.same(practice.requests.sort(), ['/Condition?patient=pat-1', '/Observation?patient=pat-1'])
  const left = await s.leftBy('run-1')
  t.match((await s.run('run-1', left.progress, left.checkpoints)).types, { Observation: { status: 'failed' } }, 'resumed, it stays failed')
})

t.test('$everything with a paging link outside the practice: not followed; the types are searched one by one instead', async (t) => {
  const practice = await pagedPractice(t, { pages: { $everything: [[obs(1)], [obs(2)]], Observation: [[obs(1), obs(2)]] }, reads: { 'Patient/pat-1': PATIENT } })
  practice.everything = true
  const s = await syncOn(t, practice, 'patient/Patient.read patient/Observation.read')
  t.match(await s.run('run-1'), { types: { Observation: { status: 'done' } } })
  t.same(await s.stored(), ['Observation/obs-1', 'Observation/obs-2', 'Patient/pat-1'])
  // Healow's $everything of the next sync links its second page to another host.
  practice.linkBase = 'https://evil.example/fhir/r4/PAGING'
  practice.requests.length = 0
  const progress = await s.run('run-2')
  t.same(practice.requests, ['/metadata', '/Patient/pat-1/$everything', '/Observation?patient=pat-1', '/Patient/pat-1'])
  t.same(Object.keys(progress.types).sort(), ['Observation', 'Patient'])
  t.match(progress, { deleted: 0, types: { Observation: { status: 'done', resources: 3 } } }, 'obs-2, on the page not followed, is not taken for deleted')
  t.same(await s.stored(), ['Observation/obs-1', 'Observation/obs-2', 'Patient/pat-1'])
  t.same(s.open('run-2', await s.store.sync.checkpoints('run-2')).everything, { next: null, done: false, pages: 1 }, 'a resumed run searches too')
})

t.test('a paging chain is cut off after its page limit, as done', async (t) => {
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)], [obs(2)], [obs(3)], [obs(4)]] } })
  const s = await syncOn(t, practice, 'patient/Observation.read', { maxPagesPerStep: 2 })
  t.match(await s.run('run-1'), { resources: 2, types: { Observation: { status: 'done', resources: 2 } } })
  t.same(practice.requests, ['/Observation?patient=pat-1', '/Observation?patient=pat-1&page=2'])
  t.same(s.open('run-1', await s.store.sync.checkpoints('run-1'))['type:Observation'], { next: null, done: true, pages: 2 })
})

t.test('a refused first page skips the type; a refused later page fails it; both with what Healow answered', async (t) => {
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)], [obs(2)]], Condition: [[cond(1)]] } })
  practice.answer = (r) => r === '/Condition?patient=pat-1'
    ? { status: 403, body: { resourceType: 'OperationOutcome' } }
    : r.includes('page=2') ? { status: 200, body: { resourceType: 'OperationOutcome' } } : undefined
  const s = await syncOn(t, practice, 'patient/Observation.read patient/Condition.read')
  const progress = await s.run('run-1')
  t.same(progress.types, {
    Condition: { status: 'skipped', resources: 0, error: 'Healow answered 403' },
    Observation: { status: 'failed', resources: 1, error: 'Healow answered something that is not a Bundle' }
  })
  t.same(s.open('run-1', await s.store.sync.checkpoints('run-1')), {
    'type:Observation': { next: `${practice.base}/Observation?patient=pat-1&page=2`, done: false, pages: 1 }
  }, 'the refused page is not checkpointed as done')
})

t.test('a page stores what is new or changed and confirms the rest: by versionId, else by the text', async (t) => {
  // `a` says versionId null, `b` has no meta at all: both compared by their text.
  const plain = (id: string, value: number) => ({ resourceType: 'Observation', id, valueInteger: value, ...(id === 'a' ? { meta: { versionId: null } } : {}) })
  const pages = { Observation: [[plain('a', 1), plain('b', 1), plain('a', 1)], [{ ...obs(1), meta: { versionId: 7 } }]] }
  const practice = await pagedPractice(t, { pages })
  const s = await syncOn(t, practice, 'patient/Observation.read')
  t.match(await s.run('run-1'), { resources: 4, changed: 3 }, 'a resource twice on a page is stored once')
  t.match(await s.run('run-2'), { resources: 4, changed: 0 }, 'the same again: nothing changed (a numeric versionId too)')
  pages.Observation[0][1] = plain('b', 2)
  pages.Observation[1][0] = { ...obs(1), meta: { versionId: 8 }, valueInteger: 5 }
  t.match(await s.run('run-3'), { changed: 2 }, 'a new text without versionId, a new versionId')
  t.same(await s.stored(), ['Observation/a', 'Observation/b', 'Observation/obs-1'])
  pages.Observation[0] = [plain('b', 2)]
  t.match(await s.run('run-4'), { changed: 0, deleted: 1 }, 'a gone from the practice')
  pages.Observation[0] = [plain('a', 1), plain('b', 2)]
  t.match(await s.run('run-5'), { changed: 1, deleted: 0 }, 'back again, as it was: stored again')
})

t.test('only 200 answers count: a refused page or metadata answer is not read, whatever its body', async (t) => {
  const bundle = { resourceType: 'Bundle', entry: [{ resource: obs(1) }] }
  const capability = { resourceType: 'CapabilityStatement', rest: [{ resource: [{ type: 'Patient', operation: [{ name: 'everything' }] }] }] }
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)]], $everything: [[obs(1)]] }, reads: { 'Patient/pat-1': PATIENT } })
  practice.answer = (r) => r === '/metadata' ? { status: 404, body: capability } : r.startsWith('/Condition') ? { status: 404, body: bundle } : undefined
  const s = await syncOn(t, practice, 'patient/Patient.read patient/Observation.read patient/Condition.read')
  const progress = await s.run('run-1')
  t.match(progress.types, { Condition: { status: 'skipped', resources: 0, error: 'Healow answered 404' }, Observation: { status: 'done', resources: 1 } })
  t.notOk(practice.requests.some((r) => r.includes('$everything')), 'a 404 metadata declares nothing')
})

t.test("a page keeps the granted resources only, the searched type's and others'", async (t) => {
  const encounter = { resourceType: 'Encounter', id: 'enc-1' }
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1), encounter, DOCTOR]], Practitioner: [[]] } })
  const s = await syncOn(t, practice, 'patient/Observation.read patient/Practitioner.read')
  t.match(await s.run('run-1'), { resources: 2 })
  t.same(await s.stored(), ['Observation/obs-1', 'Practitioner/dr-1'])
})

t.test('a type done by an earlier attempt of the run is not searched again, even without its checkpoint', async (t) => {
  // As after a vault rekey, which does not carry an unfinished run's checkpoints over.
  const practice = await pagedPractice(t, { pages: { Observation: [[obs(1)]], Condition: [[cond(1)]] } })
  const s = await syncOn(t, practice, 'patient/Observation.read patient/Condition.read')
  await s.store.sync.createRun({ id: 'run-1', connectionId: s.connectionId, startedAt: Date.now(), progress: '{}' })
  const progress = { ...emptyProgress(), requests: 1, resources: 1, types: { Observation: { status: 'done' as const, resources: 1 } } }
  t.match(await s.run('run-1', progress, new Map()), { types: { Observation: { status: 'done', resources: 1 }, Condition: { status: 'done', resources: 1 } } })
  t.same(practice.requests, ['/Condition?patient=pat-1'])
})

t.test('progress: parsed back as it was written, or empty when unreadable; skipped and failed types named in order', async (t) => {
  t.same(parseProgress('not json'), emptyProgress())
  t.same(parseProgress('{"requests":3,"types":{"Observation":{"status":"done","resources":2}}}'),
    { requests: 3, resources: 0, changed: 0, deleted: 0, types: { Observation: { status: 'done', resources: 2 } } })
  t.same(parseProgress('{"resources":4}'), { ...emptyProgress(), resources: 4 })
  t.not(emptyProgress(), emptyProgress(), 'each its own object')
  const progress = emptyProgress()
  progress.types = {
    Procedure: { status: 'failed', resources: 1, error: 'x' },
    Condition: { status: 'skipped', resources: 0 },
    Observation: { status: 'done', resources: 5 },
    Goal: { status: 'running', resources: 0 },
    Device: { status: 'pending', resources: 0 }
  }
  t.same(skippedTypes(progress), ['Condition', 'Procedure'])
})
