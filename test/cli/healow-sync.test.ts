import t from 'tap'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { bundleOf, syntheticBundle } from '../helpers/synthetic-bundle.js'
import { startSimulator } from '../../simulator/index.js'
import { tempDir } from '../helpers/app.js'
import { connectPatient, startStack } from '../helpers/connect.js'

interface Ran { code: number, stdout: string, stderr: string }

/** `healow-sync …` from the source, with only PATH and `env` in its environment. */
async function cli (args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return await promisify(execFile)(process.execPath, ['--import=tsx', 'cli/healow-sync.ts', ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
    .then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: Ran) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr })
    )
}

t.test('usage: every command has --help naming its settings; mistakes exit 2 with the usage', async (t) => {
  const overview = await cli(['--help'])
  t.equal(overview.code, 0)
  for (const command of ['start', 'vault rekey', 'directory import', 'directory search', 'connections list']) {
    t.match(overview.stdout, `healow-sync ${command}`)
    const help = await cli([...command.split(' '), '--help'])
    t.equal(help.code, 0, `${command} --help`)
    t.match(help.stdout, new RegExp(`^usage: healow-sync ${command}`))
    t.match(help.stdout, /Reads .*DATA_DIR/, `${command} --help names the settings it reads`)
  }
  t.match(await cli(['vault']), { code: 2, stderr: /unknown command "vault"/ })
  t.match(await cli(['connections', 'list', '--all']), { code: 2, stderr: /takes only --json[^]*usage: healow-sync connections list/ })
  t.match(await cli(['directory', 'search']), { code: 2, stderr: /needs the words/ })
  t.match(await cli(['connections', 'list'], { DATA_DIR: tempDir(t), DATABASE_URL: 'mysql://x' }), { code: 2, stderr: /DATABASE_URL must start with/ })
  const start = await cli(['start'], { DATA_DIR: tempDir(t) })
  t.equal(start.code, 2, 'start without the settings it needs is refused')
  t.match(start.stderr, /HEALOW_CLIENT_ID is required[^]*PUBLIC_URL is required/)
})

t.test('directory import and search need only the store settings; a download shows its real size', async (t) => {
  const dir = tempDir(t)
  const env = { DATA_DIR: dir }
  const first = syntheticBundle(50, 3)
  const file = path.join(dir, 'directory.json')
  writeFileSync(file, JSON.stringify(first))
  const imported = await cli(['directory', 'import', file], env)
  t.equal(imported.code, 0, imported.stderr)
  t.match(imported.stdout, /Imported 50 practices/)
  t.match(imported.stdout, /added\s+50/)
  t.match(imported.stderr, /reading /, 'progress on stderr')

  // One practice renamed, one gone, one bad entry: changed 1, removed 1, skipped and counted.
  const entries = first.entry.filter((e) => e.resource.id !== first.entry[0].resource.id)
  const renamed = entries.find((e) => e.resource.resourceType === 'Organization')!
  renamed.resource.name = 'Renamed Practice'
  const bad = bundleOf([{ id: 'BADONE', name: 'No https', address: 'http://example.org/fhir/r4/BADONE' }]).entry
  writeFileSync(file, JSON.stringify({ ...first, entry: [...entries, ...bad] }))
  const second = await cli(['directory', 'import', file], env)
  t.match(second.stdout, /Imported 49 practices/)
  t.match(second.stdout, /changed\s+1/)
  t.match(second.stdout, /removed\s+1/)
  t.match(second.stdout, /not https/)

  const search = await cli(['directory', 'search', 'renamed'], env)
  t.match(search.stdout, /Renamed Practice/)
  t.match(await cli(['directory', 'import', path.join(dir, 'nope.json')], env), { code: 1, stderr: /directory import failed: .*nope\.json/ })

  // Over HTTP, without an argument: HEALOW_DIRECTORY_URL, with the simulator's loopback practices allowed.
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const downloaded = await cli(['directory', 'import'], { DATA_DIR: tempDir(t), HEALOW_DIRECTORY_URL: sim.directoryUrl, ALLOW_LOOPBACK_HTTP: 'true' })
  t.equal(downloaded.code, 0, downloaded.stderr)
  t.match(downloaded.stdout, new RegExp(`Imported ${sim.practices.length} practices`))
  const size = downloaded.stderr.match(/downloading: (\d+(?:\.\d)?) (B|KB|MB)/)
  t.ok(size && Number(size[1]) > 0, `the download shows a non-zero size: ${downloaded.stderr}`)
})

t.test('connections list: id, practice, status and dates, never a token, key or patient', async (t) => {
  const stack = await startStack(t)
  const { connectionId, key } = await connectPatient(stack)
  const { tokens, patientId } = (await stack.gw.app.vault.read(connectionId))!
  const env = { DATA_DIR: stack.gw.dataDir, DATABASE_URL: stack.gw.config.databaseUrl }
  const listed = await cli(['connections', 'list'], env)
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, new RegExp(`${connectionId}\\s+${stack.sim.practices[0].id}\\s+active\\s+yes\\s+\\d{4}-`))
  t.match(listed.stdout, /^1 connection$/m)
  const json = await cli(['connections', 'list', '--json'], env)
  t.match(JSON.parse(json.stdout), [{ id: connectionId, practiceId: stack.sim.practices[0].id, status: 'active', refreshable: true, createdAt: /^\d{4}-/ }])
  for (const secret of [key, tokens.accessToken, tokens.refreshToken!, patientId]) {
    t.notOk(listed.stdout.includes(secret) || json.stdout.includes(secret), 'no token, key or patient id')
  }
})
