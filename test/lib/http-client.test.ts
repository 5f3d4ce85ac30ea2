import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startSimulator } from '../../simulator/index.js'
import { gatewaySettings } from '../../simulator/cli-options.js'
import { bearer, connectPatient } from '../helpers/connect.js'
import { startGatewayProcess } from '../helpers/gateway-process.js'

const PROBE = 'test/helpers/report-node-undici.ts'
const reported = (output: string): string | undefined => /node-undici-loaded: (\w+)/.exec(output)?.[1]

t.test('what loads Node\'s own copy, and what the gateway avoids', async (t) => {
  const run = async (script: string): Promise<string | undefined> => {
    const node = ['--import=tsx', `--import=./${PROBE}`, '--input-type=module', '-e', script]
    return reported((await promisify(execFile)(process.execPath, node)).stderr)
  }
  t.equal(await run('await import("undici")'), 'true', 'the npm undici as it loads: the probe sees Node\'s copy loaded')
  t.equal(await run('await import("./lib/http-client.ts"); await import("undici")'), 'false', 'not after lib/http-client.ts')
  // On Node 20 an import of node:http loads nothing more; on Node 24 it reads http.WebSocket, which loads the copy.
  const viaHttp = await run('await import("./lib/http-client.ts"); await import("node:http")')
  t.equal(viaHttp, String(Number(process.versions.node.split('.')[0]) >= 24), 'an ES import of node:http (hence the lint rule)')
})

t.test('a gateway that connects a patient, reads through the proxy and refreshes tokens never loads Node\'s undici', async (t) => {
  const sim = await startSimulator({ autoLogin: true })
  t.teardown(() => sim.close())
  const gateway = await startGatewayProcess(t, gatewaySettings(sim, 'confidential'), { preload: PROBE })
  // The token exchange, a FHIR read and its metadata, and a refresh: every kind of request the gateway sends.
  const { connectionId, key, claim } = await connectPatient({ sim, gw: gateway })
  const { patientId } = claim.connection as { patientId: string }
  const read = await fetch(`${gateway.url}/fhir/${connectionId}/Patient/${patientId}`, { headers: bearer(key) })
  t.equal(read.status, 200)
  t.equal((await fetch(`${gateway.url}/fhir/${connectionId}/metadata`, { headers: bearer(key) })).status, 200)
  t.equal((await fetch(`${gateway.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })).status, 200)
  t.equal(sim.counters().token['refresh_token:ok'], 1, 'the refresh reached the simulator')
  await gateway.stop('SIGTERM')
  t.equal(reported(gateway.output.join('')), 'false', 'one copy of undici in the gateway')
})
