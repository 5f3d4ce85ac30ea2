import { Type } from '@sinclair/typebox'
import { EXAMPLE, EXAMPLE_CONNECTION } from './examples.js'

const Instant = Type.String({ format: 'date-time' })

export const AdminConnection = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Connection id' }),
  practiceId: Type.String({ description: 'Healow practice code (tenant id)' }),
  practiceName: Type.Union([Type.String(), Type.Null()], { description: "The practice's name in the directory; null when the directory no longer lists it" }),
  patientId: Type.String({ description: 'The FHIR Patient id of the person who logged in' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('reauth_required')], { description: 'reauth_required: the patient must log in at Healow again (reconnectUrl)' }),
  claimed: Type.Boolean({ description: 'Whether an app has claimed the connection (holds its key)' }),
  refreshable: Type.Boolean({ description: 'true when the gateway holds a refresh token (confidential mode)' }),
  createdAt: Instant,
  accessTokenExpiresAt: Instant,
  lastRefreshAt: Type.Union([Instant, Type.Null()], { description: 'When the tokens were last refreshed' }),
  lastError: Type.Union([Type.String(), Type.Null()], { description: 'The last refresh problem, if any' }),
  lastSync: Type.Union([Type.Object({
    status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
    startedAt: Instant,
    finishedAt: Type.Union([Instant, Type.Null()], { description: 'null while it runs' }),
    error: Type.Optional(Type.String({ description: 'Why it failed' }))
  }, { additionalProperties: false }), Type.Null()], {
    description: "The connection's latest sync (GET /connections/{id}/sync has its progress); null when it never synced",
    examples: [{ status: 'failed', startedAt: '2026-12-01T09:00:00.000Z', finishedAt: '2026-12-01T09:00:04.000Z', error: 'Healow did not answer' }]
  }),
  reconnectUrl: Type.String({ description: 'A link to give the patient: it starts connecting this practice again' })
}, { $id: 'AdminConnection', title: 'AdminConnection', description: 'A connection as the operator sees it: no token, no key', additionalProperties: false })

export const AdminConnectionPage = Type.Object({
  items: Type.Array(Type.Ref('AdminConnection')),
  total: Type.Integer({ minimum: 0, description: 'How many connections there are in all' }),
  nextCursor: Type.Optional(Type.String({ description: 'Pass as `cursor` to get the next page; absent on the last page' }))
}, {
  $id: 'AdminConnectionPage',
  title: 'AdminConnectionPage',
  description: 'One page of connections, newest first',
  additionalProperties: false,
  examples: [{
    items: [{
      id: EXAMPLE.connectionId,
      practiceId: EXAMPLE.practiceId,
      practiceName: EXAMPLE.practiceName,
      patientId: EXAMPLE.patientId,
      status: 'active',
      claimed: true,
      refreshable: true,
      createdAt: EXAMPLE_CONNECTION.createdAt,
      accessTokenExpiresAt: EXAMPLE_CONNECTION.accessTokenExpiresAt,
      lastRefreshAt: EXAMPLE_CONNECTION.lastRefreshAt,
      lastError: null,
      lastSync: { status: 'succeeded', startedAt: '2026-12-02T14:00:00.000Z', finishedAt: '2026-12-02T14:00:12.000Z' },
      reconnectUrl: EXAMPLE_CONNECTION.reconnectUrl
    }],
    total: 1
  }]
})

export const AdminConnectionsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Page size', examples: [50] })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: '`nextCursor` of the previous page', examples: ['MTc2NDY2OTgwMDAwMDo2ZjFjMmE5ZQ'] }))
}, { additionalProperties: false })

export const AdminPageQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  deleted: Type.Optional(Type.Literal('1')),
  sync: Type.Optional(Type.Union([Type.Literal('started'), Type.Literal('running')]))
}, { additionalProperties: false })

export const AdminConnectionParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Connection id' }) })

export const AdminLoginBody = Type.Object({ token: Type.String({ maxLength: 1024 }) })

export const AdminFormBody = Type.Object({ csrf: Type.String({ maxLength: 256 }) })

export const adminSchemas = [AdminConnection, AdminConnectionPage]
