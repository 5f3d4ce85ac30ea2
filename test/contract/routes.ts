import type { FastifyInstance } from 'fastify'

export interface ServedRoute { method: string, url: string }

/**
 * Every method and URL the gateway routes, read from `printRoutes({ commonPrefix: false })`: a
 * tree whose lines are `├── segment (METHODS)`, each segment appended to its parent's URL.
 */
export function servedRoutes (app: FastifyInstance): ServedRoute[] {
  const parents: string[] = []
  const routes: ServedRoute[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1].length / 4
    const url = (parents[depth - 1] ?? '') + match[2]
    parents[depth] = url
    parents.length = depth + 1
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url })
  }
  return routes
}

/** `/connections/:id` → `/connections/{id}`. */
const asTemplate = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

/** Pages and their files, for a person's browser: hidden from the document (routes/pages.ts, routes/admin.ts). */
const PAGE_URLS = new Set(['/', '/healow/connected', '/assets/style.css', '/assets/app.js', '/favicon.svg'])
const isPage = (url: string) => PAGE_URLS.has(url) || (url.startsWith('/admin') && url !== '/admin/connections')

/**
 * Routes that need no operation of their own: HEAD, which Fastify adds to every GET; the pages;
 * Swagger UI's static files under /docs; @fastify/cors's preflight answer for every URL; `/fhir` itself,
 * which only answers that a connection id is missing; and the writes on FHIR paths, routed only
 * so that they get a FHIR 405 instead of a 404.
 */
function isInfrastructure ({ method, url }: ServedRoute): boolean {
  return method === 'HEAD' || isPage(url) ||
    // printRoutes writes the wildcard /docs/* (Swagger UI, loaded on demand) as /docs*.
    url === '/docs' || url.startsWith('/docs/') || url === '/docs*' ||
    (method === 'OPTIONS' && url === '*') ||
    url === '/fhir' || url === '/fhir/' ||
    (url === '/fhir/*' && ['PUT', 'DELETE', 'PATCH'].includes(method))
}

/**
 * The FHIR proxy is one wildcard route that the document describes by hand as three operations
 * (see routes/fhir.ts): each routed method and URL maps to the operation that answers it.
 */
function documentedAs ({ method, url }: ServedRoute): string {
  // The connection id is part of the wildcard (plugins/fhir-proxy.ts reads it from the raw URL).
  if (url === '/fhir/*') return method === 'POST' ? 'POST /fhir/{connectionId}/{resourceType}/_search' : `${method} /fhir/{connectionId}/{fhirPath}`
  // Its own route (routes/fhir-metadata.ts), described as the 404 of a FHIR path.
  if (url === '/fhir/:connectionId/.well-known/smart-configuration') return `${method} /fhir/{connectionId}/{fhirPath}`
  return `${method} ${asTemplate(url)}`
}

/** Served routes that the document does not describe (`METHOD /path`). */
export function undocumentedRoutes (
  app: FastifyInstance,
  documented: Array<{ method: string, path: string }>
): string[] {
  const known = new Set(documented.map((op) => `${op.method} ${op.path}`))
  const served = new Set(servedRoutes(app).filter((r) => !isInfrastructure(r)).map(documentedAs))
  return [...served].filter((op) => !known.has(op))
}
