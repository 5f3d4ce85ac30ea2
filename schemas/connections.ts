import { Type } from '@sinclair/typebox'
import { EXAMPLE, EXAMPLE_CONNECTION } from './examples.js'

const Id = Type.String({ format: 'uuid', description: 'Connection id', examples: [EXAMPLE.connectionId] })

export const ConnectionParams = Type.Object({ id: Id })

export const ConnectionStatus = Type.Object({
  id: Id,
  practiceId: Type.String({ description: 'Healow practice code (tenant id)' }),
  fhirBase: Type.String({ description: "The practice's FHIR base at Healow" }),
  fhirUrl: Type.String({ description: "This connection's FHIR base through the gateway: use it as the FHIR server URL" }),
  patientId: Type.String({ description: 'The FHIR Patient id of the person who logged in' }),
  scopes: Type.Array(Type.String(), { description: 'Scopes Healow granted' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('reauth_required')], { description: 'reauth_required: the patient must log in at Healow again (reconnectUrl)' }),
  accessTokenExpiresAt: Type.String({ format: 'date-time' }),
  refreshable: Type.Boolean({ description: 'true when the gateway holds a refresh token (confidential mode)' }),
  lastRefreshAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()], { description: 'The last refresh problem, if any' }),
  createdAt: Type.String({ format: 'date-time' }),
  reconnectUrl: Type.String({ description: 'Where to send the patient to log in again' })
}, { $id: 'ConnectionStatus', title: 'ConnectionStatus', additionalProperties: false, examples: [EXAMPLE_CONNECTION] })

export const ClaimRequest = Type.Object({
  handoff: Type.String({ minLength: 10, maxLength: 200, description: 'The one-time code from the callback (#handoff=…)' })
}, { $id: 'ClaimRequest', title: 'ClaimRequest', additionalProperties: false, examples: [{ handoff: EXAMPLE.handoff }] })

export const ClaimResponse = Type.Object({
  connection: Type.Ref('ConnectionStatus'),
  key: Type.String({ description: 'The connection key: shown once, send it as "Authorization: Bearer <key>"' })
}, { $id: 'ClaimResponse', title: 'ClaimResponse', additionalProperties: false, examples: [{ connection: EXAMPLE_CONNECTION, key: EXAMPLE.key }] })

export const ConnectQuery = Type.Object({
  tenant: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Practice id from the directory', examples: [EXAMPLE.practiceId] }),
  return_to: Type.Optional(Type.String({ maxLength: 2048, description: 'Where to send the browser afterwards (PUBLIC_URL or ALLOWED_ORIGINS), with #handoff=… or #error=…', examples: [EXAMPLE.returnTo] }))
})

export const CallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 4096, description: "Healow's authorization code", examples: ['Jx8Qn2EXAMPLEcode'] })),
  state: Type.Optional(Type.String({ maxLength: 512, description: 'The state the gateway sent', examples: ['q9Wc3EXAMPLEstate'] })),
  error: Type.Optional(Type.String({ maxLength: 256, description: "Healow's OAuth error, instead of a code", examples: ['access_denied'] })),
  error_description: Type.Optional(Type.String({ maxLength: 2048, examples: ['The patient declined'] }))
})

export const connectionSchemas = [ConnectionStatus, ClaimRequest, ClaimResponse]
