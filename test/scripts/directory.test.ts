import t from 'tap'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { bundleOf, syntheticBundle } from '../helpers/synthetic-bundle.js'
import { tempDir } from '../helpers/app.js'

const run = promisify(execFile)

t.test('npm run directory -- import: a summary of what changed, and the copy is what the gateway then serves', async (t) => {
  const dir = tempDir(t)
  const env = { ...process.env, HEALOW_CLIENT_ID: 'x', PUBLIC_URL: 'http://127.0.0.1:1', DATA_DIR: dir }
  const first = syntheticBundle(50, 3)
  const file = path.join(dir, 'directory.json')
  writeFileSync(file, JSON.stringify(first))
  const imported = await run('npx', ['--no-install', 'tsx', 'scripts/directory.ts', 'import', file], { env })
  t.match(imported.stdout, /Imported 50 practices/)
  t.match(imported.stdout, /added\s+50/)
  t.match(imported.stderr, /reading /, 'progress on stderr')

  // One practice renamed, one gone, one bad entry: changed 1, removed 1, skipped and counted.
  const entries = first.entry.filter((e) => e.resource.id !== first.entry[0].resource.id)
  const renamed = entries.find((e) => e.resource.resourceType === 'Organization')!
  renamed.resource.name = 'Renamed Practice'
  const bad = bundleOf([{ id: 'BADONE', name: 'No https', address: 'http://example.org/fhir/r4/BADONE' }]).entry
  writeFileSync(file, JSON.stringify({ ...first, entry: [...entries, ...bad] }))
  const second = await run('npx', ['--no-install', 'tsx', 'scripts/directory.ts', 'import', file], { env })
  t.match(second.stdout, /Imported 49 practices/)
  t.match(second.stdout, /changed\s+1/)
  t.match(second.stdout, /removed\s+1/)
  t.match(second.stdout, /not https/)

  const search = await run('npx', ['--no-install', 'tsx', 'scripts/directory.ts', 'search', 'renamed'], { env })
  t.match(search.stdout, /Renamed Practice/)
  const missing = await run('npx', ['--no-install', 'tsx', 'scripts/directory.ts', 'import', path.join(dir, 'nope.json')], { env }).catch((e: { code: number, stderr: string }) => e)
  t.not((missing as { code: number }).code, 0, 'a missing file fails with a non-zero exit')
})
