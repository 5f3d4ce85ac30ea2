import t from 'tap'
import { spawn } from 'node:child_process'
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
  const observations = await (await fetch(commands[1][2], { headers: { authorization: `Bearer ${commands[1][1]}` } })).json() as { resourceType: string, entry: unknown[] }
  t.match(observations, { resourceType: 'Bundle' })
  t.ok(observations.entry.length > 0, 'the demo patient has records')
  child.kill('SIGINT')
  const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])))
  t.equal(code, 0, 'Ctrl-C stops it cleanly')
})
