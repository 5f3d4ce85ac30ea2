import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { OPENAPI_PATH } from '../scripts/openapi.js'
import { connectPatient, handoffFor, startStack } from './helpers/connect.js'
import { rawRequest } from './helpers/fhir-proxy-attacks.js'
import { pick, randomInt, seededRandom, type Random } from '../simulator/prng.js'

/*
 * Malformed input on every operation of openapi.yaml: wrong types, 1 MB strings, bad JSON,
 * invalid UTF-8 in the path, query, headers and body, odd methods and content types. Every answer
 * must be a 4xx that says what is wrong (or a success): never a 5xx from the gateway's own code,
 * never a dropped connection. Healow (the simulator) runs without faults here, so no 5xx is an
 * honest upstream failure either. Case n is drawn from seededRandom(SEED, n) alone: a failure
 * names its case, and the same case comes back on every run.
 */
const SEED = 'openapi-fuzz 1'
const CASES_PER_OPERATION = 60
const CONCURRENCY = 4

type Parameter = { in: 'path' | 'query', name: string, required?: boolean, schema?: { type?: string } }
type Operation = {
  operationId: string,
  parameters?: Parameter[],
  requestBody?: { content: Record<string, { schema?: { properties?: Record<string, unknown> } }> }
}
type OpenApi = { paths: Record<string, Record<string, Operation>> }

interface Case {
  method: string,
  target: string | Buffer,
  headers: Record<string, string | Buffer>,
  body: string | Buffer
}

const MB = 1024 * 1024
const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0xed, 0xa0, 0x80])
const ODD_METHODS = ['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'QUERY', 'FOO', 'get', 'CONNECT']
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x',
  'application/fhir+json', 'application/json; charset=latin1', 'application/octet-stream', ';;;', 'application/json, text/plain', '*/*', '']

/** Values for a string field or parameter that a careful client would never send. */
const ODD_TEXTS: Array<(random: Random, valid: string[]) => string> = [
  (random, valid) => pick(random, valid),
  () => '',
  () => ' ',
  (random) => 'x'.repeat(randomInt(random, 65, 5000)),
  () => '-1',
  () => '1e999',
  () => 'NaN',
  () => 'true',
  () => 'null',
  () => '[]',
  () => '{}',
  () => 'http://[',
  () => 'http://[::1',
  () => '//evil.example/x',
  () => '../../../etc/passwd',
  () => '%',
  () => '%zz',
  () => '%ff%fe',
  () => '%c3%28',
  () => '%ed%a0%80',
  () => '\u0000',
  () => '\ud800',
  () => 'é🩺\u202e',
  () => '<script>alert(1)</script>',
  (random, valid) => `${pick(random, valid)}${pick(random, ['/', '?', '#', '%00', '..', '\\', '@evil.example'])}`
]

function oddText (random: Random, valid: string[]): string {
  return pick(random, ODD_TEXTS)(random, valid)
}

/** One JSON value of a wrong or extreme kind. */
function oddJsonValue (random: Random, valid: string[]): unknown {
  return pick(random, [
    () => oddText(random, valid),
    () => randomInt(random, -5, 5),
    () => 1e308,
    () => null,
    () => true,
    () => [oddText(random, valid)],
    () => ({ nested: oddText(random, valid) }),
    () => 'y'.repeat(MB)
  ])()
}

/** Query or path text: encoded as a client would, or left as raw bytes a client would not send. */
function encode (random: Random, value: string): string | Buffer {
  const roll = random()
  if (roll < 0.7) {
    try { return encodeURIComponent(value) } catch { return value.replace(/[^\x21-\x7e]/g, '%ff') }
  }
  if (roll < 0.85) return value.replace(/[\s#]/g, '+')
  return Buffer.concat([Buffer.from(value.replace(/[\s#]/g, '+')), INVALID_UTF8])
}

function join (parts: Array<string | Buffer>): string | Buffer {
  return parts.some((p) => Buffer.isBuffer(p)) ? Buffer.concat(parts.map((p) => typeof p === 'string' ? Buffer.from(p) : p)) : parts.join('')
}

interface Valid {
  connectionId: string,
  key: string,
  practiceId: string,
  patientId: string,
  handoff: string,
  origin: string,
  clientId: string
}

/** The valid values of each parameter name, so that most of a case is right and the odd part reaches deep. */
function validValues (valid: Valid): Record<string, string[]> {
  return {
    connectionId: [valid.connectionId],
    id: [valid.connectionId, valid.practiceId],
    fhirPath: [`Patient/${valid.patientId}`, 'Observation', 'metadata', `Patient/${valid.patientId}/$everything`],
    resourceType: ['Observation', 'Condition'],
    vendor: ['healow'],
    serviceId: [valid.practiceId],
    target: [`Observation?patient=${valid.patientId}`, `Patient/${valid.patientId}`, '/Binary/x', 'metadata', 'Observation/_search'],
    target_type: ['base', 'token'],
    tenant: [valid.practiceId],
    return_to: [valid.origin, `${valid.origin}/app`],
    q: ['card', 'prodtest'],
    query: ['card', ''],
    limit: ['10', '1'],
    cursor: ['10'],
    discover: ['true', 'false'],
    code: ['some-code'],
    state: ['some-state'],
    error: ['access_denied'],
    error_description: ['no'],
    search: [`patient=${valid.patientId}`],
    handoff: [valid.handoff],
    tenant_id: [valid.practiceId],
    grant_type: ['authorization_code'],
    code_verifier: ['v'.repeat(43)],
    redirect_uri: [`${valid.origin}/healow/callback`],
    client_id: [valid.clientId],
    refresh_token: [`hsr.${valid.connectionId}.${valid.key}`, 'some-refresh-token'],
    patient: [valid.patientId]
  }
}

/** Random cases: each field right with this chance, else odd, so most are a field or two away from a valid request. */
const RIGHT = 0.75

/**
 * A random case, or a sweep case: everything valid but one field (a path, query or body
 * parameter), which takes the `odd`-th of ODD_TEXTS. Sweeps reach the checks behind the others.
 */
type Mode = { kind: 'random' } | { kind: 'sweep', field: string, odd: number }

/** The fields a sweep goes through: every parameter and body field of the operation. */
function sweptFields (operation: Operation): string[] {
  const schema = Object.values(operation.requestBody?.content ?? {})[0]?.schema
  return [...(operation.parameters ?? []).map((p) => p.name), ...(operation.requestBody ? bodyFields(schema) : [])]
}

/** A form body (the relay's) names no fields in the document: those of a code exchange and a search. */
function bodyFields (schema: { properties?: Record<string, unknown> } | undefined): string[] {
  return schema?.properties ? Object.keys(schema.properties) : ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'client_id', 'patient']
}

function makeCase (random: Random, path: string, method: string, operation: Operation, valid: Valid, mode: Mode = { kind: 'random' }): Case {
  const values = validValues(valid)
  const validTexts = Object.values(values).flat()
  const sweep = mode.kind === 'sweep'
  const right = () => sweep || random() < RIGHT
  const value = (name: string) => {
    const good = values[name] ?? validTexts
    if (sweep) return name === mode.field ? ODD_TEXTS[mode.odd](random, good) : pick(random, good)
    return random() < RIGHT ? pick(random, good) : oddText(random, good)
  }
  const parts: Array<string | Buffer> = []
  for (const segment of path.split(/(\{[^}]+\})/)) {
    if (!segment.startsWith('{')) { parts.push(segment); continue }
    const name = segment.slice(1, -1)
    const text = value(name)
    // A FHIR path keeps its slashes; everything else is one segment.
    parts.push(name === 'fhirPath' && random() < 0.7 ? join(text.split('/').flatMap((segment, i) => i ? ['/', encode(random, segment)] : [encode(random, segment)])) : encode(random, text))
  }
  const query: Array<string | Buffer> = []
  for (const parameter of (operation.parameters ?? []).filter((p) => p.in === 'query')) {
    const times = sweep ? 1 : random() < 0.1 ? 2 : random() < 0.2 && !parameter.required ? 0 : 1
    for (let i = 0; i < times; i++) {
      if (parameter.name === 'search') {
        query.push(sweep ? join(['patient=', encode(random, value('search'))]) : random() < RIGHT ? values.search[0] : join([encode(random, oddText(random, ['patient', '_count'])), '=', encode(random, oddText(random, validTexts))]))
        continue
      }
      const text = !sweep && parameter.schema?.type === 'integer' && random() < 0.2 ? String(randomInt(random, -100, 1000)) : value(parameter.name)
      query.push(join([parameter.name, '=', encode(random, text)]))
    }
  }
  if (!sweep && random() < 0.15) query.push(join([encode(random, oddText(random, ['extra'])), '=', encode(random, oddText(random, ['x']))]))
  if (!sweep && random() < 0.03) query.push(`big=${'z'.repeat(MB)}`)
  const target = join([...parts, ...(query.length ? ['?', ...query.flatMap((q, i) => i === 0 ? [q] : ['&', q])] : [])])

  const headers: Record<string, string | Buffer> = {}
  if (sweep || random() < 0.8) headers.authorization = right() ? `Bearer ${pick(random, [valid.key, `hsa.${valid.connectionId}.${valid.key}`])}` : pick(random, ['Bearer', 'Bearer ', 'Basic abc', `Bearer ${'k'.repeat(5000)}`, 'bearer x', Buffer.concat([Buffer.from('Bearer '), INVALID_UTF8])])
  if (sweep || random() < 0.8) headers.origin = right() ? valid.origin : pick(random, ['null', `${valid.origin}.evil.example`, 'http://[', Buffer.concat([Buffer.from('http://'), INVALID_UTF8])])
  if (!sweep && random() < 0.3) headers.accept = pick(random, ['application/fhir+json', 'text/html', '*/*', 'application/json+fhir', ';;', 'x'.repeat(3000)])

  let body: string | Buffer = ''
  const [mediaType, content] = Object.entries(operation.requestBody?.content ?? {})[0] ?? []
  const fields = bodyFields(content?.schema)
  // A sweep sends the body the operation takes; a random case any body, or none.
  const bodyKind = sweep ? (mediaType === 'application/json' ? 0 : 0.8) : random()
  if (sweep ? operation.requestBody : (operation.requestBody || random() < 0.2)) {
    if (bodyKind < 0.35) {
      const object: Record<string, unknown> = {}
      for (const field of fields) {
        if (sweep) object[field] = value(field)
        else if (random() < 0.9) {
          object[field] = random() < 0.5
            ? pick(random, values[field] ?? validTexts)
            : oddJsonValue(random, validTexts)
        }
      }
      if (!sweep && random() < 0.2) object[oddText(random, ['extra'])] = oddJsonValue(random, validTexts)
      body = JSON.stringify(object)
      headers['content-type'] = 'application/json'
    } else if (bodyKind < 0.55) {
      body = pick(random, ['{', '{"code":', '[]', 'null', '"str"', '1e999', '{"a":1}{', '\ufeff{}', `${'['.repeat(10000)}${']'.repeat(10000)}`, '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'])
      headers['content-type'] = pick(random, CONTENT_TYPES.slice(0, 2))
    } else if (bodyKind < 0.7) {
      body = Buffer.concat([Buffer.from('{"code":"'), INVALID_UTF8, Buffer.from('","tenant_id":"x"}')])
      headers['content-type'] = pick(random, CONTENT_TYPES)
    } else if (bodyKind < 0.85) {
      body = join(fields.map((f, i) => join([i ? '&' : '', f, '=', encode(random, value(f))])))
      headers['content-type'] = sweep ? 'application/x-www-form-urlencoded' : pick(random, ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded;charset=UTF-8', pick(random, CONTENT_TYPES)])
    } else {
      body = 'q'.repeat(random() < 0.5 ? MB + 10 : 70 * 1024)
      headers['content-type'] = pick(random, CONTENT_TYPES)
    }
    if (headers['content-type'] === '') delete headers['content-type']
  }
  const odd = !sweep && random() < 0.12
  return { method: odd ? pick(random, ODD_METHODS) : !sweep && random() < 0.05 ? 'HEAD' : method.toUpperCase(), target, headers, body }
}

function saysWhy (body: string): boolean {
  return /"(message|text|diagnostics|error_description)"\s*:\s*"[^"]{8,}/.test(body) || (!body.startsWith('{') && /[A-Za-z]{3,}.*[A-Za-z]{3,}/.test(body))
}

function describe (c: Case): string {
  const show = (v: string | Buffer) => (typeof v === 'string' ? v : v.toString('latin1')).slice(0, 200)
  return `${c.method} ${show(c.target)} ${JSON.stringify(Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, show(v)])))} body=${show(c.body)}`
}

t.test('every operation answers malformed input with a 4xx that says what is wrong, never a 5xx', async (t) => {
  // Limits off (Healow's, the gateway's budget; each case from its own address through TRUST_PROXY),
  // so cases reach every check behind them.
  const stack = await startStack(t, {
    mode: 'confidential',
    simulator: { quirks: { rateLimitPerMinute: null } },
    env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn', MERE_VAULT_HANDLES: 'true', TRUST_PROXY: 'true', HEALOW_RATE_LIMIT_PER_MINUTE: '100000' })
  })
  const practice = stack.sim.practices[0]
  const connection = await connectPatient(stack)
  // DELETE /connections/{id} takes its own connection, so that the others keep working.
  const doomed = await connectPatient(stack)
  const valid: Valid = {
    connectionId: connection.connectionId,
    key: connection.key,
    practiceId: practice.id,
    patientId: practice.patientId,
    handoff: await handoffFor(stack),
    origin: stack.gw.config.PUBLIC_URL,
    clientId: stack.gw.config.HEALOW_CLIENT_ID
  }
  const document = parse(readFileSync(OPENAPI_PATH, 'utf8')) as OpenApi
  const cases: Array<{ id: string, c: Case }> = []
  let operations = 0
  for (const [path, byMethod] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(byMethod)) {
      if (!operation.operationId) continue
      operations++
      const validHere = operation.operationId === 'deleteConnection' ? { ...valid, connectionId: doomed.connectionId, key: doomed.key } : valid
      for (const field of sweptFields(operation)) {
        for (let odd = 0; odd < ODD_TEXTS.length; odd++) {
          const id = `${operation.operationId}:${field}=odd${odd}`
          cases.push({ id, c: makeCase(seededRandom(SEED, id), path, method, operation, validHere, { kind: 'sweep', field, odd }) })
        }
      }
      for (let i = 0; i < CASES_PER_OPERATION; i++) {
        const id = `${operation.operationId}#${i}`
        cases.push({ id, c: makeCase(seededRandom(SEED, id), path, method, operation, validHere) })
      }
    }
  }
  t.ok(operations >= 20, `${cases.length} cases over ${operations} operations`)

  const statuses = new Map<number, number>()
  const failures: string[] = []
  const started = Date.now()
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < cases.length) {
      const { id, c } = cases[next++]
      const res = await rawRequest(stack.gw.url, { ...c, headers: { ...c.headers, 'x-forwarded-for': `10.${next >> 16 & 255}.${next >> 8 & 255}.${next & 255}` } })
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      const body = res.text.slice(res.text.indexOf('\r\n\r\n') + 4)
      if (res.status === 0 || res.status >= 500) failures.push(`${id}: ${res.status} ${res.text.slice(0, 300)} ← ${describe(c)}`)
      // A refusal says why: in JSON, or in plain words (CORS preflights). HEAD answers carry no body by definition.
      else if (res.status >= 400 && c.method !== 'HEAD' && !saysWhy(body)) failures.push(`${id}: ${res.status} without a reason: ${body.slice(0, 200)} ← ${describe(c)}`)
    }
  }))
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))} in ${Date.now() - started} ms`)
  t.same(failures, [], 'no 5xx, no dropped connection, every refusal with a reason')
  t.equal((await fetch(`${stack.gw.url}/health`)).status, 200, 'the gateway is still up')
  t.notOk(stack.gw.logs.lines.some((line) => /"level":50/.test(line)), 'no error logged')
})
