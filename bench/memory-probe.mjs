// Preloaded into the gateway under benchmark (node --expose-gc --import … dist/server.js): answers
// fhir-proxy.ts's requests for the process's memory around the Binary download, sampled only then
// so that the sampler does not cost the throughput runs. Two peaks: resident memory (RSS), and what
// V8 holds (heap in use plus external memory, which counts the ArrayBuffers of streamed chunks, live
// or not yet collected); the second does not depend on what the allocator kept from earlier work.
// Plain JavaScript, so that the gateway runs as deployed, without a TypeScript loader.
let start
let peak
let sampler

function sample () {
  const { rss, heapUsed, external } = process.memoryUsage()
  return { rss, v8: heapUsed + external }
}

function note () {
  const now = sample()
  peak = { rss: Math.max(peak.rss, now.rss), v8: Math.max(peak.v8, now.v8) }
}

process.on('message', (message) => {
  if (message === 'memory:start') {
    globalThis.gc?.()
    start = peak = sample()
    sampler = setInterval(note, 5)
    process.send({ start })
  } else if (message === 'memory:peak') {
    clearInterval(sampler)
    note()
    process.send({ start, peak })
  }
})
