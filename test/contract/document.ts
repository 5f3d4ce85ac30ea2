import { readFileSync } from 'node:fs'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'
import { OPENAPI_PATH } from '../../scripts/openapi.js'

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

/** Where OpenAPI puts examples: `example`, or `examples` as a map of { value } (the schema's own `examples` aside). */
interface Exemplified { example?: unknown, examples?: Record<string, { value?: unknown }> }
interface MediaTypeObject extends Exemplified { schema?: unknown }
interface ResponseObject {
  description: string
  content?: Record<string, MediaTypeObject>
  headers?: Record<string, HeaderObject | { $ref: string }>
}
interface HeaderObject { schema?: unknown, required?: boolean }
interface ParameterObject extends Exemplified { name: string, in: string, schema?: unknown }
interface OperationObject {
  operationId: string
  responses: Record<string, ResponseObject>
  parameters?: ParameterObject[]
  requestBody?: { content: Record<string, MediaTypeObject> }
}
interface OpenApiDocument {
  paths: Record<string, Partial<Record<typeof HTTP_METHODS[number], OperationObject>>>
  components: { schemas: Record<string, unknown>, headers?: Record<string, HeaderObject> }
}

/** One operation of the document: what a contract test must exercise. */
export interface DocumentedOperation {
  method: string
  path: string
  operationId: string
  statuses: string[]
}

/** What one response was checked against, and what is wrong with it (nothing, for a kept contract). */
export interface ResponseCheck {
  operationId: string | undefined
  /** The response key that matched: an exact status, `4XX`/`5XX`, or `default`. */
  documentedAs: string | undefined
  mediaType: string | undefined
  /** The component the body was validated against, e.g. OperationOutcome. */
  schemaName: string | undefined
  problems: string[]
}

const COMPONENTS_ID = 'https://healow-sync.example.org/openapi/components'
const COMPONENT_REF = '#/components/schemas/'

/**
 * `#/components/schemas/X` points into the document, which is not a JSON schema: the components
 * become the `$defs` of one schema that ajv knows by id, and every reference is pointed there.
 */
function pointRefsAtComponents (node: unknown): unknown {
  if (Array.isArray(node)) return node.map(pointRefsAtComponents)
  if (node === null || typeof node !== 'object') return node
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key,
    key === '$ref' && typeof value === 'string' && value.startsWith(COMPONENT_REF)
      ? `${COMPONENTS_ID}#/$defs/${value.slice(COMPONENT_REF.length)}`
      : pointRefsAtComponents(value)]))
}

const isJson = (mediaType: string) => mediaType === 'application/json' || mediaType.endsWith('+json')

/**
 * openapi.yaml as a contract: every response a contract test receives is checked here against
 * the operation's documented statuses, media types and schemas (JSON Schema 2020-12, as OpenAPI 3.1 says).
 */
export class ContractDocument {
  readonly document: OpenApiDocument
  readonly #ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false })
  readonly #validators = new Map<string, ValidateFunction>()

  constructor (text = readFileSync(OPENAPI_PATH, 'utf8')) {
    this.document = parse(text) as OpenApiDocument
    addFormats.default(this.#ajv)
    this.#ajv.addSchema({
      $id: COMPONENTS_ID,
      $defs: pointRefsAtComponents(this.document.components.schemas) as Record<string, object>
    })
  }

  operations (): DocumentedOperation[] {
    return Object.entries(this.document.paths).flatMap(([path, item]) => HTTP_METHODS
      .filter((method) => item[method] !== undefined)
      .map((method) => ({
        method: method.toUpperCase(),
        path,
        operationId: item[method]!.operationId,
        statuses: Object.keys(item[method]!.responses)
      })))
  }

  operation (method: string, path: string): OperationObject | undefined {
    return this.document.paths[path]?.[method.toLowerCase() as typeof HTTP_METHODS[number]]
  }

  /** Checks status, Content-Type, declared headers and body of one response to `method path` (a path template). */
  async check (method: string, path: string, response: Response): Promise<ResponseCheck> {
    const operation = this.operation(method, path)
    const body = await response.text()
    const check: ResponseCheck = {
      operationId: operation?.operationId,
      documentedAs: undefined,
      mediaType: undefined,
      schemaName: undefined,
      problems: []
    }
    if (!operation) {
      check.problems.push(`${method} ${path} is not in the document`)
      return check
    }
    const status = String(response.status)
    check.documentedAs = [status, `${status[0]}XX`, 'default'].find((key) => key in operation.responses)
    if (check.documentedAs === undefined) {
      check.problems.push(`status ${status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})`)
      return check
    }
    const documented = operation.responses[check.documentedAs]
    const key = `${method} ${path} ${check.documentedAs}`
    for (const [name, declared] of Object.entries(documented.headers ?? {})) {
      const header = '$ref' in declared ? this.document.components.headers?.[declared.$ref.split('/').pop()!] ?? {} : declared
      const value = response.headers.get(name)
      if (value === null) {
        if (header.required) check.problems.push(`header ${name} is required but missing`)
        continue
      }
      const parsed = /^-?\d+$/.test(value) ? Number(value) : value
      check.problems.push(...this.#validate(`${key} header ${name}`, header.schema, parsed, `header ${name}`))
    }
    if (documented.content === undefined) {
      if (body !== '') check.problems.push(`status ${status} is documented without a body, but one came (${body.length} bytes)`)
      return check
    }
    check.mediaType = response.headers.get('content-type')?.split(';')[0].trim().toLowerCase()
    const media = check.mediaType === undefined ? undefined : documented.content[check.mediaType]
    if (media === undefined) {
      check.problems.push(`Content-Type ${check.mediaType ?? '(none)'} is not documented for ${status} (documented: ${Object.keys(documented.content).join(', ')})`)
      return check
    }
    const ref = (media.schema as { $ref?: string } | undefined)?.$ref
    check.schemaName = ref?.startsWith(COMPONENT_REF) ? ref.slice(COMPONENT_REF.length) : undefined
    let value: unknown = body
    if (isJson(check.mediaType!)) {
      try {
        value = JSON.parse(body)
      } catch {
        check.problems.push(`the ${check.mediaType} body is not JSON: ${body.slice(0, 120)}`)
        return check
      }
    }
    check.problems.push(...this.#validate(`${key} ${check.mediaType}`, media.schema ?? {}, value))
    return check
  }

  /**
   * What is missing or wrong in the examples of every operation's request (each parameter, each
   * body media type) and success answers (each 2xx media type): one example at least, and every
   * example valid against its own schema.
   */
  exampleProblems (): string[] {
    const problems: string[] = []
    const check = (where: string, schema: unknown, around: Exemplified) => {
      const ref = (schema as { $ref?: string } | undefined)?.$ref
      const resolved = ref?.startsWith(COMPONENT_REF)
        ? this.document.components.schemas[ref.slice(COMPONENT_REF.length)]
        : schema
      const examples = [
        ...((resolved as { examples?: unknown[] } | undefined)?.examples ?? []),
        ...('example' in around ? [around.example] : []),
        ...Object.values(around.examples ?? {}).map((e) => e.value)
      ]
      if (examples.length === 0) return problems.push(`${where}: no example`)
      examples.forEach((example, i) => problems.push(...this.#validate(`example ${where}`, schema ?? {}, example, `${where} example ${i}`)))
    }
    for (const { method, path } of this.operations()) {
      const operation = this.operation(method, path)!
      for (const parameter of operation.parameters ?? []) check(`${method} ${path} ${parameter.in} ${parameter.name}`, parameter.schema, parameter)
      for (const [mediaType, media] of Object.entries(operation.requestBody?.content ?? {})) check(`${method} ${path} request ${mediaType}`, media.schema, media)
      for (const [status, response] of Object.entries(operation.responses).filter(([status]) => status.startsWith('2'))) {
        for (const [mediaType, media] of Object.entries(response.content ?? {})) check(`${method} ${path} ${status} ${mediaType}`, media.schema, media)
      }
    }
    return problems
  }

  #validate (cacheKey: string, schema: unknown, value: unknown, subject = 'body'): string[] {
    let validate = this.#validators.get(cacheKey)
    if (validate === undefined) {
      validate = this.#ajv.compile(pointRefsAtComponents(schema) as object)
      this.#validators.set(cacheKey, validate)
    }
    if (validate(value)) return []
    return (validate.errors ?? []).map((e) => `${subject}${e.instancePath} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
  }
}
