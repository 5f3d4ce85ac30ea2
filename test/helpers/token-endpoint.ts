import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

type Test = { teardown: (fn: () => unknown) => void }

/** How Healow's token endpoint answers one request. */
export interface ScriptedAnswer {
  status?: number
  body?: unknown
  /** Answers only once this settles (a slow Healow). */
  after?: Promise<unknown>
  /** Sends the headers and half the body, then cuts the connection. */
  cut?: boolean
}

export interface TokenRequestSeen {
  form: URLSearchParams
  authorization?: string
}

/**
 * Healow's token endpoint, played on loopback from a script: each request takes the next answer
 * (an unscripted one gets a 500 the test will notice), and every request is kept.
 */
export async function scriptedTokenEndpoint (t: Test): Promise<{
  url: string
  requests: TokenRequestSeen[]
  script: (...answers: ScriptedAnswer[]) => void
}> {
  const answers: ScriptedAnswer[] = []
  const requests: TokenRequestSeen[] = []
  const server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { text += chunk })
    req.on('end', () => {
      requests.push({ form: new URLSearchParams(text), authorization: req.headers.authorization })
      const answer = answers.shift() ?? { status: 500, body: { error: 'unscripted request' } }
      void Promise.resolve(answer.after).then(() => {
        const body = JSON.stringify(answer.body ?? {})
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) })
        if (answer.cut) {
          // Headers and half the body on the wire first, so the client has an answer to lose.
          res.write(body.slice(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20))
        } else res.end(body)
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/oauth2/token`,
    requests,
    script: (...more) => { answers.push(...more) }
  }
}
