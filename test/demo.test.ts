import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { freePort, tempDir } from './helpers/app.js'

const root = fileURLToPath(new URL('..', import.meta.url))

t.test('npm run demo: connects a demo patient and prints commands that work', async (t) => {
  const [port, simulatorPort] = [await freePort(), await freePort()]
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo.ts'], {
    cwd: root, env: { PATH: process.env.PATH, PORT: String(port), SIMULATOR_PORT: String(simulatorPort), DATA_DIR: tempDir(t) }, stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stdout!.on('data', (d) => { output += d })
  child.stderr!.on('data', (d) => { output += d })
  for (let i = 0; i < 600 && !/Connect another patient/.test(output); i++) {
    if (child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(output, /healow-sync demo is running/, output)
  // Run the printed curl commands the way a newcomer would, with fetch.
  const commands = [...output.matchAll(/curl -H 'Authorization: Bearer ([^']+)' '([^']+)'/g)]
  t.match(output, /Sync succeeded: \d{3,} resources over \d+ types in \d+ requests to Healow\n/, 'the demo shows a sync finishing with its counts')
  t.equal(commands.length, 4)
  for (const [, key, url] of commands) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } })
    t.equal(res.status, 200, url)
  }
  // Every page of the printed search, through the next links the gateway rewrote.
  type Page = {
    resourceType: string,
    total: number,
    entry: Array<{ resource: { id: string }, search?: { mode: string } }>,
    link?: Array<{ relation: string, url: string }>
  }
  const ids: string[] = []
  let next: string | undefined = commands[1][2]
  let first: Page | undefined
  for (let pages = 0; next !== undefined && pages < 50; pages++) {
    const page = await (await fetch(next, { headers: { authorization: `Bearer ${commands[1][1]}` } })).json() as Page
    first ??= page
    t.notOk(page.entry.some((e) => e.search?.mode === 'outcome'), 'no link withheld')
    ids.push(...page.entry.map((e) => e.resource.id))
    next = page.link?.find((l) => l.relation === 'next')?.url
  }
  t.match(first, { resourceType: 'Bundle' })
  t.ok(first!.total > first!.entry.length, 'the demo patient has more records than one page')
  t.equal(new Set(ids).size, first!.total, 'and every one of them can be read')
  child.kill('SIGINT')
  const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])))
  t.equal(code, 0, 'Ctrl-C stops it cleanly')
})

t.test('npm run demo with a port already taken: one line naming the setting to change', async (t) => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { taken.close() })
  const takenPort = (taken.address() as AddressInfo).port
  const free = await freePort()
  for (const [setting, ports] of [['SIMULATOR_PORT', { PORT: free, SIMULATOR_PORT: takenPort }], ['PORT', { PORT: takenPort, SIMULATOR_PORT: free }]] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'demo.ts'], {
      cwd: root, env: { PATH: process.env.PATH, PORT: String(ports.PORT), SIMULATOR_PORT: String(ports.SIMULATOR_PORT), DATA_DIR: tempDir(t) }, stdio: ['ignore', 'pipe', 'pipe']
    })
    t.teardown(() => { child.kill('SIGKILL') })
    let stderr = ''
    child.stderr!.on('data', (d) => { stderr += d })
    const [code] = await once(child, 'exit') as [number | null]
    t.equal(code, 1, setting)
    t.equal(stderr, `npm run demo cannot start: ${setting} ${takenPort} is already in use (127.0.0.1:${takenPort}); set ${setting} to a free port, or stop what listens there\n`)
  }
})
