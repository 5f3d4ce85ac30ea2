import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

type Test = { teardown: (fn: () => unknown) => void }
type Resource = { resourceType: string, id: string, [field: string]: unknown }

export interface PagedPractice {
  /** The practice's FHIR base on loopback. */
  base: string
  /** Path and query of every request, in order (below the base). */
  requests: string[]
  /** Answers 500 to requests this accepts (path and query below the base), until changed. */
  failWhen: (request: string) => boolean
  /** An answer of its own to a request (path and query below the base), instead of the pages'. */
  answer: (request: string) => { status: number, body: unknown } | undefined
  /** Where `next` links point: the base itself unless changed (a link leading elsewhere). */
  linkBase?: string
  /** Whether the CapabilityStatement declares Patient/$everything. */
  everything: boolean
}

/**
 * A practice's FHIR server that pages: `pages[Type]` is the list of pages a `?patient=` search
 * (or `$everything`, under the key `$everything`) answers, each page a list of resources, linked by
 * `next` URLs on the same base. `Patient/{id}` and referenced resources are read from `reads`.
 */
export async function pagedPractice (
  t: Test,
  { pages, reads = {} }: { pages: Record<string, Resource[][]>, reads?: Record<string, Resource> }
): Promise<PagedPractice> {
  const practice: PagedPractice = { base: '', requests: [], failWhen: () => false, answer: () => undefined, everything: false }
  const server = createServer((req, res) => {
    const below = req.url!.slice(new URL(practice.base).pathname.length)
    practice.requests.push(below)
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/fhir+json' })
      res.end(JSON.stringify(body))
    }
    if (practice.failWhen(below)) return send(500, { resourceType: 'OperationOutcome' })
    const own = practice.answer(below)
    if (own !== undefined) return send(own.status, own.body)
    const url = new URL(below, 'http://x')
    if (url.pathname === '/metadata') {
      const operation = practice.everything ? [{ name: 'everything' }] : []
      return send(200, { resourceType: 'CapabilityStatement', rest: [{ resource: [{ type: 'Patient', operation }] }] })
    }
    const search = /^\/([A-Za-z]+)$/.exec(url.pathname)?.[1] ?? (/^\/Patient\/[^/]+\/\$everything$/.test(url.pathname) ? '$everything' : undefined)
    if (search !== undefined) {
      const list = pages[search]
      if (list === undefined) return send(400, { resourceType: 'OperationOutcome' })
      const page = Number(url.searchParams.get('page') ?? '1')
      const next = page < list.length ? `${practice.linkBase ?? practice.base}${url.pathname}?${new URLSearchParams({ ...Object.fromEntries(url.searchParams), page: String(page + 1) })}` : undefined
      return send(200, {
        resourceType: 'Bundle',
        type: 'searchset',
        link: next === undefined ? [] : [{ relation: 'next', url: next }],
        entry: list[page - 1].map((resource) => ({ resource, search: { mode: 'match' } }))
      })
    }
    const read = reads[url.pathname.slice(1)]
    return read === undefined ? send(404, { resourceType: 'OperationOutcome' }) : send(200, read)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  practice.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir/r4/PAGING`
  return practice
}
