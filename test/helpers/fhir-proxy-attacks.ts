import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer, type IncomingMessage } from 'node:http'
import { connect, type AddressInfo } from 'node:net'

type Test = { teardown: (fn: () => unknown) => void }

/**
 * Crafted requests that try to steer the FHIR proxy to another host, another practice or the
 * token endpoint. `rest` is what follows `/fhir/{connectionId}` in the raw request line;
 * `{decoy}` is replaced by a decoy server's host:port, `{other}` by another practice's code.
 * Every one must be refused before anything is sent upstream.
 */
export interface CraftedRequest { name: string, rest: string, method?: string, body?: string, contentType?: string }

export const CRAFTED_PATHS: CraftedRequest[] = [
  { name: 'dot-dot to another practice', rest: '/../{other}/Patient' },
  { name: 'dot-dot to the token endpoint', rest: '/../../../oauth/oauth2/token' },
  { name: 'dot-dot after a type', rest: '/Patient/../../{other}/Patient' },
  { name: 'dot-dot after an id', rest: '/Patient/123/../../../oauth/oauth2/token' },
  { name: 'trailing dot-dot', rest: '/Patient/..' },
  { name: 'single dot segment', rest: '/./Patient' },
  { name: 'dot segment in the middle', rest: '/Patient/./123' },
  { name: 'encoded dot-dot', rest: '/%2e%2e/{other}/Patient' },
  { name: 'encoded dot-dot, upper case', rest: '/%2E%2E/%2E%2E/oauth/oauth2/token' },
  { name: 'half-encoded dot-dot', rest: '/.%2e/{other}/Patient' },
  { name: 'encoded slash', rest: '/Patient%2f..%2f..%2f{other}' },
  { name: 'encoded slash after metadata', rest: '/metadata%2f..%2f..%2f..%2foauth%2foauth2%2ftoken' },
  { name: 'double-encoded slash', rest: '/Patient%252f..%252f..%252f{other}' },
  { name: 'double-encoded dots', rest: '/%252e%252e/%252e%252e/oauth/oauth2/token' },
  { name: 'raw backslashes', rest: '/..\\..\\oauth\\oauth2\\token' },
  { name: 'encoded backslashes', rest: '/Patient%5c..%5c..%5c{other}' },
  { name: 'protocol-relative host', rest: '//{decoy}/Patient' },
  { name: 'empty segment then host', rest: '/Patient//{decoy}' },
  { name: 'userinfo trick', rest: '/@{decoy}/Patient' },
  { name: 'userinfo after a type', rest: '/Patient@{decoy}' },
  { name: 'absolute URL as path', rest: '/http://{decoy}/Patient' },
  { name: 'absolute URL with encoded slashes', rest: '/http:%2f%2f{decoy}%2fPatient' },
  { name: 'scheme-relative with backslashes', rest: '/\\\\{decoy}\\Patient' },
  { name: 'encoded question mark', rest: '/Patient%3f@{decoy}' },
  { name: 'encoded hash', rest: '/Patient%23/../../{other}' },
  { name: 'raw hash', rest: '/Patient#/../../{other}' },
  { name: 'encoded NUL', rest: '/Patient%00/../../{other}' },
  { name: 'encoded CRLF header injection', rest: '/Patient%0d%0aHost:%20{decoy}' },
  { name: 'encoded tab', rest: '/Patient%09' },
  { name: 'one-dot-leader unicode dots', rest: '/%E2%80%A4%E2%80%A4/{other}/Patient' },
  { name: 'fullwidth full stops', rest: '/%EF%BC%8E%EF%BC%8E/{other}/Patient' },
  { name: 'fullwidth solidus', rest: '/Patient%EF%BC%8F..%EF%BC%8F{other}' },
  { name: 'overlong UTF-8 dots', rest: '/%C0%AE%C0%AE/{other}/Patient' },
  { name: 'overlong UTF-8 slash', rest: '/Patient%C0%AF..%C0%AF{other}' },
  { name: 'raw unicode two-dot leader', rest: '/\u2025/{other}/Patient' },
  { name: 'semicolon path parameter', rest: '/..;/{other}/Patient' },
  { name: 'matrix parameter on a type', rest: '/Patient;jsessionid=1/../../{other}' },
  { name: 'overlong path', rest: `/Patient/${'a'.repeat(5000)}` },
  { name: 'id longer than FHIR allows', rest: `/Patient/${'a'.repeat(65)}` },
  { name: 'not a resource type: the token path', rest: '/oauth/oauth2/token' },
  { name: 'unknown operation', rest: '/Patient/123/$export' },
  { name: 'operation without a type', rest: '/$everything' },
  { name: 'well-known traversal', rest: '/.well-known/../../oauth/oauth2/token' },
  { name: 'query parameter name with a slash', rest: '/Patient?../../x=1' },
  { name: 'query with malformed escape', rest: '/Patient?name=%zz' },
  { name: 'query with encoded NUL', rest: '/Patient?name=%00' },
  { name: 'POST create', rest: '/Patient', method: 'POST', body: 'a=b', contentType: 'application/x-www-form-urlencoded' },
  { name: 'POST search with JSON', rest: '/Patient/_search', method: 'POST', body: '{"url":"http://{decoy}"}', contentType: 'application/json' },
  { name: 'POST search traversal', rest: '/../oauth/oauth2/token/_search', method: 'POST', body: 'grant_type=refresh_token', contentType: 'application/x-www-form-urlencoded' },
  { name: 'POST search with a bad parameter name', rest: '/Patient/_search', method: 'POST', body: '../x=1', contentType: 'application/x-www-form-urlencoded' },
  { name: 'GET _search', rest: '/Patient/_search' },
  { name: 'PUT', rest: '/Patient/123', method: 'PUT', body: '{}', contentType: 'application/json' },
  { name: 'DELETE', rest: '/Patient/123', method: 'DELETE' },
  { name: 'PATCH', rest: '/Patient/123', method: 'PATCH', body: '[]', contentType: 'application/json-patch+json' }
]

/** Every HTTP request the gateway process sends anywhere but to itself, as undici writes it on the wire. */
export function recordOutgoing (t: Test, gatewayUrl: string) {
  const sent: Array<{ origin: string, path: string, method: string, headers: string }> = []
  const listener = (message: unknown) => {
    const { request, headers } = message as {
      request: { origin: string, path: string, method: string },
      headers: string
    }
    if (String(request.origin) !== gatewayUrl) {
      sent.push({
        origin: String(request.origin),
        path: request.path,
        method: request.method,
        headers
      })
    }
  }
  subscribe('undici:client:sendHeaders', listener)
  t.teardown(() => unsubscribe('undici:client:sendHeaders', listener))
  return sent
}

/** A server that must never be reached: it records whatever arrives. */
export async function startDecoy (t: Test) {
  const seen: string[] = []
  const server = createServer((req: IncomingMessage, res) => { seen.push(`${req.method} ${req.url}`); res.end('decoy') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { seen, host: `127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/**
 * Sends a request line exactly as written (no client-side normalisation) and returns the status.
 * Target, header values and body may be bytes, for text that is not valid UTF-8.
 */
export async function rawRequest (gatewayUrl: string, { method = 'GET', target, headers = {}, body = '' }: { method?: string, target: string | Buffer, headers?: Record<string, string | Buffer>, body?: string | Buffer }): Promise<{ status: number, text: string }> {
  const { hostname, port } = new URL(gatewayUrl)
  const bytes = (value: string | Buffer) => typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  const line = (...parts: Array<string | Buffer>) => Buffer.concat([...parts.map(bytes), Buffer.from('\r\n')])
  const bodyBytes = bytes(body)
  const head = Buffer.concat([
    line(`${method} `, target, ' HTTP/1.1'), line(`Host: ${hostname}:${port}`), line('Connection: close'),
    ...Object.entries(headers).map(([k, v]) => line(`${k}: `, v)),
    ...(bodyBytes.length > 0 ? [line(`Content-Length: ${bodyBytes.length}`)] : [])
  ])
  return await new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    const chunks: Buffer[] = []
    let failure = ''
    socket.on('data', (c) => chunks.push(c))
    // A server that answers before the whole body is sent (413) may reset the rest: its answer counts.
    socket.on('error', (err) => { failure = err.message })
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text: text || failure })
    })
    // write, not end: a half-closed socket makes Node drop the response of a slow (proxied) request
    socket.write(Buffer.concat([head, Buffer.from('\r\n'), bodyBytes]))
  })
}
