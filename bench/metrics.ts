// What the metrics add to one proxied read, measured alone (the proxy benchmark's noise on a shared
// VM is larger than this): the request counter, the upstream histogram and the budget counter, as
// plugins/metrics.ts, the FHIR proxy and the request budget record them. `npx tsx bench/metrics.ts`
import { GatewayMetrics } from '../lib/gateway-metrics.js'

const metrics = new GatewayMetrics(async () => ({ active: 1, reauth_required: 0 }))
const practices = Array.from({ length: 50 }, (_, i) => `PRAC${String(i).padStart(2, '0')}`)
const reads = 2_000_000
function oneRead (i: number): void {
  const practice = practices[i % practices.length]
  metrics.budget(practice, 'granted')
  metrics.upstream(practice, 'fhir', 0.012, 200)
  metrics.request('GET', '/fhir/*', 200)
}
for (let i = 0; i < 200_000; i++) oneRead(i) // warm-up
const runs: number[] = []
for (let run = 0; run < 5; run++) {
  const started = process.hrtime.bigint()
  for (let i = 0; i < reads; i++) oneRead(i)
  runs.push(Number(process.hrtime.bigint() - started) / reads)
}
runs.sort((a, b) => a - b)
const scrapeStarted = performance.now()
const text = await metrics.registry.metrics()
console.log(`metrics per proxied read: median ${runs[2].toFixed(0)} ns (runs ${runs.map((r) => r.toFixed(0)).join(', ')} ns); one scrape of ${practices.length} practices: ${(performance.now() - scrapeStarted).toFixed(1)} ms, ${text.length} bytes`)
