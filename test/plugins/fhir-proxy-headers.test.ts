import t from 'tap'
import { clientResponseHeaders, isFhirJson, upstreamRequestHeaders, upstreamRetryAfterMs } from '../../lib/fhir/headers.js'

t.test('only allowlisted request headers go upstream, with our bearer token', async (t) => {
  const headers = upstreamRequestHeaders({
    authorization: 'Bearer hsk_connection_key',
    cookie: 'session=1',
    connection: 'keep-alive, x-secret',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    upgrade: 'h2c',
    'proxy-authorization': 'Basic x',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-for': '1.2.3.4',
    'x-original-url': '/../token',
    host: 'evil.example',
    accept: 'application/fhir+json',
    'accept-language': 'en',
    'if-none-match': 'W/"1"',
    prefer: 'handling=lenient',
    'accept-encoding': 'gzip'
  }, 'healow-token', 'req-1')
  t.same(headers, {
    accept: 'application/fhir+json',
    'accept-language': 'en',
    'if-none-match': 'W/"1"',
    prefer: 'handling=lenient',
    authorization: 'Bearer healow-token',
    'user-agent': 'healow-sync',
    'x-request-id': 'req-1'
  })
  t.equal(upstreamRequestHeaders({}, 'tok', 'r').accept, 'application/fhir+json', 'FHIR JSON when the client names nothing')
})

t.test('upstream-only response headers never reach the client', async (t) => {
  t.same(clientResponseHeaders({
    'set-cookie': ['AWSALB=1; Path=/'],
    server: 'Apache',
    'www-authenticate': 'Bearer realm="ecw"',
    'strict-transport-security': 'max-age=1',
    'access-control-allow-origin': '*',
    location: 'https://evil.example',
    connection: 'keep-alive',
    'transfer-encoding': 'chunked',
    'content-type': 'application/json+fhir;charset=UTF-8',
    'content-length': '12',
    etag: 'W/"3"',
    'last-modified': 'Tue, 01 Apr 2025 00:00:00 GMT'
  }), {
    'content-type': 'application/fhir+json;charset=UTF-8',
    'content-length': '12',
    etag: 'W/"3"',
    'last-modified': 'Tue, 01 Apr 2025 00:00:00 GMT'
  })
})

t.test('FHIR JSON media types, and how long a Healow 429 lasts', async (t) => {
  for (const type of ['application/fhir+json', 'application/json+fhir;charset=UTF-8', 'application/json']) t.ok(isFhirJson(type), type)
  for (const type of [undefined, 'application/octet-stream', 'application/fhir+xml', 'application/jsonx']) t.notOk(isFhirJson(type), String(type))
  t.equal(upstreamRetryAfterMs('7'), 7000)
  t.equal(upstreamRetryAfterMs(undefined, 60_000 * 100 + 45_000), 16_000, 'rest of the minute, plus a second')
  t.equal(upstreamRetryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000)
})
