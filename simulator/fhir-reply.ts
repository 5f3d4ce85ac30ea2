// Every FHIR response goes out here, so that the content-type quirk and the
// connection-reset fault apply to all of them alike.
import type { FastifyReply } from 'fastify'
import type { FhirResource } from './fhir-types.js'
import type { SimulatorState } from './state.js'

export function sendFhir (reply: FastifyReply, state: SimulatorState, status: number, resource: FhirResource,
  contentType = state.quirks.legacyContentType ? 'application/json+fhir' : 'application/fhir+json'): FastifyReply {
  const body = JSON.stringify(resource)
  reply.code(status).header('content-type', `${contentType};charset=UTF-8`)
  if (state.faults.resetMidBody) return resetMidBody(reply, body)
  return reply.send(body)
}

/** Announces the whole body, sends half of it, then drops the connection. */
function resetMidBody (reply: FastifyReply, body: string): FastifyReply {
  const bytes = Buffer.from(body)
  reply.hijack()
  const raw = reply.raw
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) raw.setHeader(name, value)
  }
  raw.writeHead(reply.statusCode, { 'content-length': bytes.length })
  raw.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => raw.destroy())
  return reply
}
