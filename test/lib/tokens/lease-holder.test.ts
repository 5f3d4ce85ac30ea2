import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { THIS_PROCESS_HOLDER, isLeaseHolderGone } from '../../../lib/tokens/lease-holder.js'

const BOOT = '3f0c7a52-9f7e-4c39-9b43-0a6f3c1b2d4e'

t.test('this process holds its leases: pid and boot id', async (t) => {
  t.match(THIS_PROCESS_HOLDER, new RegExp(`^${process.pid}:[0-9a-f-]{36}$`))
  t.notOk(isLeaseHolderGone(THIS_PROCESS_HOLDER))
})

t.test('a holder written by an older version (no pid or no boot id) is gone', async (t) => {
  for (const holder of ['', 'killed-holder', '1', '1:', `${process.pid}:`, `0:${BOOT}`, `-5:${BOOT}`, `1.5:${BOOT}`, `x:${BOOT}`]) {
    t.ok(isLeaseHolderGone(holder), JSON.stringify(holder))
  }
})

t.test('our own pid with another boot id: an earlier run of a restarted container, gone', async (t) => {
  t.ok(isLeaseHolderGone(`${process.pid}:${BOOT}`))
})

t.test('another process: held while it runs, gone once it has exited', async (t) => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' })
  t.teardown(() => { child.kill('SIGKILL') })
  const holder = `${child.pid}:${BOOT}`
  t.notOk(isLeaseHolderGone(holder), 'running')
  child.kill('SIGKILL')
  await once(child, 'exit')
  t.ok(isLeaseHolderGone(holder), 'exited')
})
