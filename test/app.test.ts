import t from 'tap'
import { startGateway } from './helpers/app.js'

/** The client address the gateway logged for one request that came through proxies with this X-Forwarded-For. */
async function loggedClient (
  t: Parameters<typeof startGateway>[0],
  trustProxy: string,
  forwardedFor: string
): Promise<string> {
  const gw = await startGateway(t, { TRUST_PROXY: trustProxy, LOG_LEVEL: 'info' })
  await fetch(`${gw.url}/health`, { headers: { 'x-forwarded-for': forwardedFor } })
  const line = gw.logs.lines.map((l) => JSON.parse(l) as { req?: { url: string, remoteAddress: string } }).find((l) => l.req?.url === '/health')
  return line?.req?.remoteAddress ?? ''
}

t.test('TRUST_PROXY decides which X-Forwarded-For entry is the client', async (t) => {
  // The request arrives from 127.0.0.1 (the "proxy"); the client forged the leftmost entry.
  const chain = '198.51.100.66, 203.0.113.7'
  t.equal(await loggedClient(t, 'false', chain), '127.0.0.1', 'false: the header is ignored')
  t.equal(await loggedClient(t, '1', chain), '203.0.113.7', 'one hop: the address our proxy saw, not the forged one')
  t.equal(await loggedClient(t, '127.0.0.1', chain), '203.0.113.7', 'our proxy by address')
  t.equal(await loggedClient(t, 'loopback', chain), '203.0.113.7', 'our proxy by range name')
  t.equal(await loggedClient(t, '10.0.0.0/8', chain), '127.0.0.1', 'a request from outside the trusted range: the header is ignored')
  t.equal(await loggedClient(t, '127.0.0.0/8, 203.0.113.0/24', chain), '198.51.100.66', 'two trusted hops')
  t.equal(await loggedClient(t, 'true', chain), '198.51.100.66', 'true trusts every hop, forged ones too')
})
