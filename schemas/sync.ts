import { Type } from '@sinclair/typebox'

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
}, { $id: 'SyncStatus', title: 'SyncStatus', additionalProperties: false })

export const MAX_RECORDS_PAGE = 1000

export const RecordsQuery = Type.Object({
  since: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'The cursor of the previous answer; omit for everything' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RECORDS_PAGE, default: 500, description: 'Most changes in one answer' })),
  type: Type.Optional(Type.String({ pattern: '^[A-Z][A-Za-z]{1,63}$', description: 'Only this resource type, e.g. Observation' }))
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
}, { $id: 'RecordChanges', title: 'RecordChanges', additionalProperties: false })

export const syncSchemas = [SyncStatus, RecordChanges]
