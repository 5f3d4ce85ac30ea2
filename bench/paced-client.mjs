// A client that sends GETs at a fixed rate whatever the server does (an open loop), each timed from when it was
// due, so that a server that stalls is charged for every request it kept waiting, those not yet sent included.
// autocannon's `overallRate` is not that: each connection sends its share of a second back to back and then
// waits for the next second, so its latencies are queueing inside its own bursts.
// Started by directory-search.ts over IPC: { url, rate, connections } opens the connections and starts (answered
// 'started'); 'stop' answers with the latencies in milliseconds, how many requests failed and why the first did.
import { Pool } from 'undici'

process.once('message', async ({ url, rate, connections }) => {
  const { origin, pathname } = new URL(url)
  const pool = new Pool(origin, { connections, pipelining: 1 })
  // Every connection is opened before the clock starts: a pool that opens more as latencies grow held requests
  // for up to half a second on their way out, which a client connecting anew for each request did not see.
  await Promise.all(Array.from({ length: connections }, async () => {
    const { body } = await pool.request({ path: pathname, method: 'GET' })
    await body.dump()
  }))
  process.send('started')
  const latencies = []
  const inFlight = new Set()
  let failures = 0
  let firstFailure
  let sent = 0
  const start = performance.now()
  const intervalMs = 1000 / rate
  const fail = (why) => {
    failures++
    firstFailure ??= why
  }
  const send = (due) => {
    const request = pool.request({ path: pathname, method: 'GET' })
      .then(async ({ statusCode, body }) => {
        await body.dump()
        if (statusCode === 200) latencies.push(performance.now() - due)
        else fail(`HTTP ${statusCode}`)
      }, (err) => fail(err.code ?? err.message))
      .finally(() => inFlight.delete(request))
    inFlight.add(request)
  }
  const ticker = setInterval(() => {
    const now = performance.now()
    for (let due = start + sent * intervalMs; due <= now; due = start + sent * intervalMs) {
      sent++
      send(due)
    }
  }, 1)
  process.once('message', async () => {
    clearInterval(ticker)
    await Promise.all(inFlight)
    await pool.close()
    process.send({ latencies, failures, firstFailure }, () => process.exit(0))
  })
})
process.send('ready')
