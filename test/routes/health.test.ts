import t from 'tap'
import { startGateway } from '../helpers/app.js'

t.test('health is ok; ready reports every registered check', async (t) => {
  const gw = await startGateway(t)
  const health = await fetch(`${gw.url}/health`)
  t.same(await health.json(), { status: 'ok' })
  const ready = await fetch(`${gw.url}/ready`)
  const report = await ready.json() as { ready: boolean, checks: Record<string, { ok: boolean, detail?: string }> }
  t.equal(ready.status, report.ready ? 200 : 503)
  for (const [name, check] of Object.entries(report.checks)) {
    if (!check.ok) t.ok(check.detail, `${name} says why it is not ready`)
  }
})

t.test('unknown routes and bad methods answer with the error shape', async (t) => {
  const gw = await startGateway(t)
  const res = await fetch(`${gw.url}/no/such/route`)
  t.equal(res.status, 404)
  t.match(await res.json(), { statusCode: 404, error: 'Not Found', message: /No route GET \/no\/such\/route/ })
  // Outside helmet's context (the site's routes), a 404 still carries fixed security headers and the request id.
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  t.match(res.headers.get('content-security-policy'), /default-src 'none'/)
  t.match(res.headers.get('x-request-id'), /^[0-9a-f-]{36}$/)
  const page = await fetch(`${gw.url}/health`)
  t.match(page.headers.get('content-security-policy'), /default-src 'none'/, "the site's routes keep helmet's headers")
  t.ok(page.headers.get('strict-transport-security') !== null || page.headers.get('x-dns-prefetch-control') !== null, "helmet's own headers are there")
})
