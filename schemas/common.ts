import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox'
import { ErrorCodeSchema } from './errors.js'

/** A reference to a shared schema that keeps the TypeBox static type (so handlers stay typed). */
export function ref<T extends TSchema> (schema: T) {
  if (!schema.$id) throw new Error('ref() needs a schema with an $id')
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id))
}

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer({ description: 'HTTP status code, repeated' }),
  error: Type.String({ description: 'HTTP status text' }),
  message: Type.String({ description: 'What is wrong, in words a developer can act on' }),
  code: ErrorCodeSchema,
  reconnectUrl: Type.Optional(Type.String({ description: 'With reauth_required: where to send the patient to log in again' }))
}, { $id: 'ErrorResponse', title: 'ErrorResponse', description: 'Every non-FHIR error answer', additionalProperties: false })

/** The error statuses a route can answer, each pointing at the shared error schema. */
export function errorResponses<S extends number> (...statuses: S[]) {
  return Object.fromEntries(statuses.map((s) => [s, ref(ErrorResponse)])) as
    Record<S, TUnsafe<Static<typeof ErrorResponse>>>
}

export const commonSchemas = [ErrorResponse]
