import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startSimulator } from '../../simulator/index.js'
import { gatewaySettings } from '../../simulator/cli-options.js'
import { bearer, connectPatient } from '../helpers/connect.js'
import { startGatewayProcess } from '../helpers/gateway-process.js'

const PROBE = 'test/helpers/report-node-undici.ts'
const reported = (output: string): string | undefined => /node-undici-loaded: (\w+)/.exec(output)?.[1]

t.test('the npm undici alone loads Node\'s own copy too: what the gateway avoids', async (t) => {
  const { stderr } = await promisify(execFile)(process.execPath,
    ['--import=tsx', `--import=./${PROBE}`, '--input-type=module', '-e', 'await import("undici")'])
  t.equal(reported(stderr), 'true', 'the probe sees Node\'s copy loaded')
})

// On Node 24 something else in the gateway's modules still loads Node's copy while they load (not found yet;
// the gateway's idle RSS there is the same either way): the promise is kept on Node 20 and 22 only.
const NODE_MAJOR = Number(process.versions.node.split('.')[0])
const skip = NODE_MAJOR >= 24 ? 'Node 24 loads its own copy for another reason' : false

t.test('a gateway that connects a patient, reads through the proxy and refreshes tokens never loads Node\'s undici', { skip }, async (t) => {
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
