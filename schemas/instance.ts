import { Type } from '@sinclair/typebox'
import { EXAMPLE } from './examples.js'

export const InstanceConfig = Type.Object({
  HEALOW_CLIENT_ID: Type.String({ description: 'The Healow app client id (public information)' }),
  HEALOW_CONFIDENTIAL_MODE: Type.Boolean({ description: 'true when the gateway holds a client secret and can refresh tokens' }),
  PUBLIC_URL: Type.String({ description: 'Where this gateway is reached' })
}, {
  $id: 'InstanceConfig',
  title: 'InstanceConfig',
  description: 'What Mere web reads at start-up; never contains a secret',
  additionalProperties: false,
  examples: [{ HEALOW_CLIENT_ID: 'a1b2c3d4-example-client', HEALOW_CONFIDENTIAL_MODE: true, PUBLIC_URL: EXAMPLE.publicUrl }]
})

export const Health = Type.Object({
  status: Type.Literal('ok')
}, { $id: 'Health', title: 'Health', additionalProperties: false, examples: [{ status: 'ok' }] })

export const ReadinessCheckResult = Type.Object({
  ok: Type.Boolean(),
  detail: Type.Optional(Type.String({ description: 'Why a dependency is not ready' }))
}, { $id: 'ReadinessCheckResult', title: 'ReadinessCheckResult', additionalProperties: false })

export const Readiness = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Ref('ReadinessCheckResult'))
}, {
  $id: 'Readiness',
  title: 'Readiness',
  additionalProperties: false,
  examples: [{ ready: true, checks: { database: { ok: true }, directory: { ok: true, detail: '6919 practices' } } }]
})

export const instanceSchemas = [InstanceConfig, Health, ReadinessCheckResult, Readiness]
