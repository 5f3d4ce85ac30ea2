// What one proxied Bundle read allocates in V8's heap, and where: the gateway as deployed
// (`node dist/server.js`, with bench/allocation-probe.mjs preloaded) reads the 37 KB, 50-entry
// Observation page of bench/memory.ts with 50 connections for 10 s, under V8's sampling heap
// profiler counting what was collected as well. Allocation drives the young generation's
// collections and what they promote, so it is what the peak under load and the CPU per read
// follow. Prints the total per read and the functions that allocate the most themselves.
// Run: npx tsx bench/allocations.ts
import { fileURLToPath } from 'node:url'
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon'
import { buildDist, startChild } from './children.js'
import { startDeployedGateway } from './deployed-gateway.js'
import type { StandIn } from './memory.js'

const PROBE = new URL('./allocation-probe.mjs', import.meta.url).href
const MEMORY_BENCH = fileURLToPath(new URL('./memory.ts', import.meta.url))
const CONNECTIONS = 50
const DURATION_S = 10
const TOP = 10

interface ProfileNode {
  callFrame: { functionName: string, url: string, lineNumber: number }
  selfSize: number
  children?: ProfileNode[]
}

/** Bytes allocated by each function itself, keyed by name and place. */
function selfSizes (node: ProfileNode, sizes = new Map<string, number>()): Map<string, number> {
  const { functionName, url, lineNumber } = node.callFrame
  const place = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '')
  const name = `${functionName || '(anonymous)'} ${place}:${lineNumber + 1}`
  sizes.set(name, (sizes.get(name) ?? 0) + node.selfSize)
  for (const child of node.children ?? []) selfSizes(child, sizes)
  return sizes
}

async function main (): Promise<void> {
  buildDist()
  // The stand-in for Healow of bench/memory.ts: the same Bundle, its links on the alias host.
  const { child: up, ready: stand } = await startChild<StandIn>(MEMORY_BENCH, ['upstream'], ['--import', 'tsx'])
  const gateway = await startDeployedGateway({ upstreamUrl: stand.url, alias: stand.alias, execArgv: ['--import', PROBE] })
  type Answer = { started?: boolean, profile?: { head: ProfileNode }, error?: string }
  const ask = (message: string) => new Promise<Answer>((resolve) => {
    gateway.child.once('message', (m) => resolve(m as never))
    gateway.child.send(message)
  })
  try {
    const url = `${gateway.url}/fhir/${gateway.connectionId}/Observation?patient=p1`
    const headers = { authorization: `Bearer ${gateway.key}` }
    await autocannon({ url, headers, connections: CONNECTIONS, duration: 3 }) // warm up: compiled code, grown pools
    const started = await ask('allocations:start')
    if (started.started !== true) throw new Error(`the profiler did not start: ${started.error}`)
    const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S })
    const { profile, error } = await ask('allocations:stop')
    if (profile === undefined) throw new Error(`no profile: ${error}`)
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`load: ${result.non2xx} non-2xx, ${result.errors} errors`)
    const reads = result.requests.total as number
    const sizes = selfSizes(profile.head)
    const total = [...sizes.values()].reduce((sum, size) => sum + size, 0)
    const kib = (bytes: number) => (bytes / reads / 1024).toFixed(1)
    const lines = [
      `Node ${process.version}; ${reads} reads of a ${stand.bytes}-byte Bundle in ${DURATION_S} s, ${CONNECTIONS} connections (sampled every 4 KiB).`,
      '',
      `V8 heap allocated per read: **${kib(total)} KiB**`,
      '',
      '| KiB per read | allocated by |',
      '|---:|---|',
      ...[...sizes].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([name, size]) => `| ${kib(size)} | \`${name}\` |`),
      ''
    ]
    process.stdout.write(lines.join('\n'))
  } finally {
    gateway.child.kill()
    up.kill()
  }
}

await main()
