import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startSimulator } from '../simulator/index.js'
import { gatewaySettings } from '../simulator/cli-options.js'
import { tempDir } from './helpers/app.js'
import { bearer, connectPatient } from './helpers/connect.js'
import { startGatewayProcess } from './helpers/gateway-process.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
// Packing compiles the project, and installing builds the native SQLite driver where no prebuilt
// binary is reachable: minutes on a busy two-core machine.
t.setTimeout(900_000)

/*
 * The package as an operator installs it: `npm pack`, then `npm install --omit=dev` of the tarball
 * into an empty folder (from npm's cache where it can). Nothing of the checkout is used at run time:
 * no TypeScript loader, no development dependency.
 */
t.test('the packed package, installed with production dependencies only, runs every operator command', async (t) => {
  const work = tempDir(t, 'healow-sync-package-')
  const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, env: npmEnv, maxBuffer: 64 * 1024 * 1024 })
  const [{ filename, files }] = JSON.parse(packed.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  t.ok(files.some((file) => file.path === 'dist/cli/healow-sync.js'), 'the compiled CLI is packed')
  t.notOk(files.some((file) => /\.ts$/.test(file.path) && !file.path.endsWith('.d.ts')), 'no TypeScript source is packed')

  const install = path.join(work, 'install')
  mkdirSync(install)
  writeFileSync(path.join(install, 'package.json'), JSON.stringify({ name: 'healow-sync-install-test', private: true }))
  await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, filename)], { cwd: install, env: npmEnv, maxBuffer: 64 * 1024 * 1024 })
  const installed = readdirSync(path.join(install, 'node_modules'))
  for (const devOnly of ['tsx', 'typescript', 'tap']) t.notOk(installed.includes(devOnly), `${devOnly} is not installed`)
  const bin = path.join(install, 'node_modules', '.bin', 'healow-sync')
  t.ok(existsSync(bin), 'npm linked the healow-sync command')

  /** Runs the installed command with only PATH and `env` in its environment, in the install folder. */
  const healowSync = async (args: string[], env: Record<string, string>) => await run(bin, args, { cwd: install, env: { PATH: process.env.PATH ?? '', ...env } })

  // The simulator runs from the checkout: it is a development tool, not part of the package.
  const sim = await startSimulator({ autoLogin: true })
  t.teardown(() => sim.close())
  const dataDir = tempDir(t)

  const imported = await healowSync(['directory', 'import'], { DATA_DIR: dataDir, HEALOW_DIRECTORY_URL: sim.directoryUrl, ALLOW_LOOPBACK_HTTP: 'true' })
  t.match(imported.stdout, new RegExp(`Imported ${sim.practices.length} practices`))
  t.match(imported.stderr, /downloading: \d+(\.\d)? (B|KB|MB)/)

  const gatewayEnv = {
    ...gatewaySettings(sim, 'confidential', { aliasHosts: false }),
    DATA_DIR: dataDir
  }
  const startCommand = { command: { file: bin, args: ['start'], cwd: install } }
  const gateway = await startGatewayProcess(t, { ...gatewayEnv, LOG_LEVEL: 'info' }, startCommand)
  // The installed gateway refreshes the directory in its import process (dist/lib/directory/…): one that
  // failed would only be logged, while the copy the command above stored kept serving.
  const directoryRefreshed = /"added":0,"changed":0,"removed":0,[^\n]*"msg":"practice directory refreshed"/
  for (let waited = 0; waited < 30_000 && !directoryRefreshed.test(gateway.output.join('')); waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(gateway.output.join(''), directoryRefreshed, 'the installed gateway refreshes the directory in its import process')
  const { connectionId, key, claim } = await connectPatient({ sim, gw: gateway })
  const { patientId } = claim.connection as { patientId: string }
  const search = await fetch(`${gateway.url}/fhir/${connectionId}/Observation?patient=${patientId}`, { headers: bearer(key) })
  t.equal(search.status, 200, 'a FHIR search through the installed gateway')
  t.match(await search.json(), { resourceType: 'Bundle' })
  await gateway.stop('SIGTERM')
  t.equal(gateway.child.exitCode, 0, 'SIGTERM stops it cleanly')

  const listed = await healowSync(['connections', 'list'], { DATA_DIR: dataDir })
  t.match(listed.stdout, new RegExp(`${connectionId}\\s+${sim.practices[0].id}\\s+active`))
  const newKey = 'ef'.repeat(32)
  const rekeyed = await healowSync(['vault', 'rekey'], { DATA_DIR: dataDir, NEW_VAULT_KEY: newKey })
  t.match(rekeyed.stdout, /re-encrypted 1 connection\(s\)/)
  const restarted = await startGatewayProcess(t, { ...gatewayEnv, VAULT_KEY: newKey }, startCommand)
  const refreshed = await fetch(`${restarted.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })
  t.equal(refreshed.status, 200, 'the tokens open under the new key')
})
