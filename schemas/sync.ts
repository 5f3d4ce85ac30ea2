import { Type } from '@sinclair/typebox'
import { EXAMPLE } from './examples.js'

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()])

export const SyncTypeProgress = Type.Object({
  status: Type.Union(['pending', 'running', 'done', 'skipped', 'failed'].map((s) => Type.Literal(s)), {
    description: 'skipped: the practice refused the type (403, 404, 400); failed: its paging broke off; neither stops the sync'
  }),
  resources: Type.Integer({ description: 'Resources of the type fetched in this run' }),
  error: Type.Optional(Type.String({ description: 'Why the type was skipped or incomplete' }))
}, { additionalProperties: false })

export const SyncStatus = Type.Object({
  status: Type.Union(['idle', 'running', 'succeeded', 'failed'].map((s) => Type.Literal(s)), { description: 'idle: never synced' }),
  syncId: Type.Union([Type.String(), Type.Null()], { description: 'The latest run' }),
  startedAt: Time,
  finishedAt: Time,
  nextAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the next scheduled sync is due (null: only on demand)' }),
  progress: Type.Object({
    requests: Type.Integer({ description: 'Requests sent to Healow in this run' }),
    resources: Type.Integer({ description: 'Resources fetched in this run' }),
    changed: Type.Integer({ description: 'Of those, new or changed since the last sync' }),
    deleted: Type.Integer({ description: 'Resources no longer at Healow, marked deleted at the end of a complete sync' }),
    types: Type.Record(Type.String(), SyncTypeProgress, { description: 'Per resource type' })
  }, { additionalProperties: false }),
  lastError: Type.Optional(Type.String({ description: 'Why the latest run failed' }))
}, {
  $id: 'SyncStatus',
  title: 'SyncStatus',
  additionalProperties: false,
  examples: [{
    status: 'succeeded',
    syncId: '0b6f7c1e-52a4-4d8e-9f0a-3c2d1e4b5a69',
    startedAt: '2026-12-02T03:00:00.000Z',
    finishedAt: '2026-12-02T03:04:10.000Z',
    nextAt: '2026-12-09T03:00:00.000Z',
    progress: {
      requests: 216,
      resources: 2064,
      changed: 12,
      deleted: 1,
      types: {
        Observation: { status: 'done', resources: 1210 },
        Device: { status: 'skipped', resources: 0, error: 'the practice answered 403' }
      }
    }
  }]
})

export const MAX_RECORDS_PAGE = 1000

export const RecordsQuery = Type.Object({
  since: Type.Optional(Type.String({
    pattern: '^[0-9]{1,15}$',
    description: 'The cursor of the previous answer; omit for everything',
    examples: ['2064']
  })),
  limit: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: MAX_RECORDS_PAGE,
    default: 500,
    description: 'Most changes in one answer',
    examples: [500]
  })),
  type: Type.Optional(Type.String({
    pattern: '^[A-Z][A-Za-z]{1,63}$',
    description: 'Only this resource type, e.g. Observation',
    examples: ['Observation']
  }))
})

export const RecordChanges = Type.Object({
  resources: Type.Array(Type.Object({
    resourceType: Type.String(),
    id: Type.String()
  }, { additionalProperties: true, description: 'A FHIR resource as Healow returned it' }), { description: 'New or changed resources, in change order' }),
  deleted: Type.Array(Type.Object({ resourceType: Type.String(), id: Type.String() }, {
    additionalProperties: false
  }), {
    description: 'Resources Healow no longer lists (seen missing by a complete sync)'
  }),
  cursor: Type.String({ description: 'Send it as `since` next time' }),
  more: Type.Boolean({ description: 'true: more changes wait; ask again at once with the cursor' })
}, {
  $id: 'RecordChanges',
  title: 'RecordChanges',
  additionalProperties: false,
  examples: [{
    resources: [{
      resourceType: 'Observation',
      id: 'obs-1001',
      meta: { versionId: '2' },
      status: 'final',
      subject: { reference: `Patient/${EXAMPLE.patientId}` }
    }],
    deleted: [{ resourceType: 'Condition', id: 'cond-17' }],
    cursor: '2077',
    more: false
  }]
})

export const syncSchemas = [SyncStatus, RecordChanges]
