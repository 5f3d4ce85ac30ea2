import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

type Test = { teardown: (fn: () => unknown) => void }

/** One request to Healow's token endpoint as it passed the recorder. */
export interface TokenExchange {
  /** Which gateway slot sent it, and which life of that slot's process (bumped at each start). */
  slot: number
  life: number
  grantType: string
  /** The refresh token presented (refresh_token grants). */
  presented?: string
  /** Healow's status; 0 while unanswered. */
  status: number
  /** The refresh token Healow issued, from a complete 200 answer: Healow rotated. */
  issued?: string
  /** performance.now() when Healow's answer was complete (or cut). */
  answeredAt?: number
}

export interface TokenRecorder {
  /** The token URL for slot `slot`'s gateway process. */
  url (slot: number): string
  /** Marks the start of a new process in `slot`: its requests count as that life's. */
  newLife (slot: number): number
  exchanges: TokenExchange[]
}

/**
 * Loopback relays in front of the simulator's token endpoint, one per gateway slot, that note who
 * presented which refresh token and what Healow issued for it: how a test proves that a lost
 * connection's new refresh token was handed to a process that died before it could save it. The
 * relay passes every answer through as it comes, a cut one cut at the same byte.
 */
export async function startTokenRecorder (t: Test, upstream: string, slots: number): Promise<TokenRecorder> {
  const target = new URL(upstream)
  const exchanges: TokenExchange[] = []
  const lives = Array.from({ length: slots }, () => 0)
  const servers: Server[] = []
  for (let slot = 0; slot < slots; slot++) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        const params = new URLSearchParams(body.toString('utf8'))
        const exchange: TokenExchange = { slot, life: lives[slot], grantType: params.get('grant_type') ?? '', presented: params.get('refresh_token') ?? undefined, status: 0 }
        exchanges.push(exchange)
        const headers = { ...req.headers, host: target.host }
        const upstreamRequest = request(target, { method: req.method, headers }, (answer) => {
          exchange.status = answer.statusCode ?? 0
          res.writeHead(exchange.status, answer.headers)
          const received: Buffer[] = []
          answer.on('data', (chunk: Buffer) => { received.push(chunk); res.write(chunk) })
          answer.on('close', () => {
            exchange.answeredAt = performance.now()
            if (!answer.complete) return res.destroy()
            res.end()
            if (exchange.status !== 200) return
            try {
              exchange.issued = (JSON.parse(Buffer.concat(received).toString('utf8')) as { refresh_token?: string }).refresh_token
            } catch {
              // Not JSON: nothing was issued as far as any client can tell.
            }
          })
        })
        upstreamRequest.on('error', () => res.destroy())
        upstreamRequest.end(body)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
  }
  t.teardown(async () => {
    for (const server of servers) {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
  return {
    url: (slot) => `http://127.0.0.1:${(servers[slot].address() as AddressInfo).port}${target.pathname}`,
    newLife: (slot) => ++lives[slot],
    exchanges
  }
}
