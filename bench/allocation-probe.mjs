// Preloaded into the gateway under benchmark (node --import … dist/server.js) by allocations.ts:
// on the message 'allocations:start' it starts V8's sampling heap profiler, counting objects that
// the collector has since freed as well (what a request allocates, not what it keeps); on
// 'allocations:stop' it answers the profile. Messages, not signals: the gateway shuts down on SIGUSR2.
// Plain JavaScript, so that the gateway runs as deployed, without a TypeScript loader.
import { Session } from 'node:inspector'

const session = new Session()
session.connect()

process.on('message', (message) => {
  if (message === 'allocations:start') {
    const options = {
      samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true
    }
    session.post('HeapProfiler.startSampling', options, (err) => process.send({ started: err === null, error: err?.message }))
  } else if (message === 'allocations:stop') {
    session.post('HeapProfiler.stopSampling', (err, result) => process.send({ profile: result?.profile, error: err?.message }))
  }
})
