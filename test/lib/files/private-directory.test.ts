import t from 'tap'
import { statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { DirectoryUnusableError, ensurePrivateDirectory } from '../../../lib/files/private-directory.js'
import { tempDir } from '../../helpers/app.js'

const modeOf = (p: string) => statSync(p).mode & 0o777

t.test('creates the directory and its missing parents 0700, whatever the umask', async (t) => {
  const root = tempDir(t)
  const previous = process.umask(0o022)
  t.teardown(() => { process.umask(previous) })
  const dir = path.join(root, 'a', 'b', 'data')
  ensurePrivateDirectory(dir, 'DATA_DIR')
  for (const level of [path.join(root, 'a'), path.join(root, 'a', 'b'), dir]) t.equal(modeOf(level).toString(8), '700', level)
  t.doesNotThrow(() => ensurePrivateDirectory(dir, 'DATA_DIR'), 'an existing directory is fine')
})

t.test('a directory that cannot be made fails at once with one line naming the setting', async (t) => {
  const root = tempDir(t)
  const file = path.join(root, 'a-file')
  writeFileSync(file, '')
  const cases: Array<[string, RegExp]> = [
    // Node's recursive mkdir spins here forever (thousands of calls a second).
    ['/proc/healow-sync-test/data', /^DATA_DIR "\/proc\/healow-sync-test\/data" cannot be created: mkdir \/proc\/healow-sync-test failed \(ENOENT\)$/],
    [path.join(file, 'data'), /^DATA_DIR ".*a-file\/data" cannot be created: .*a-file is a file, not a directory$/],
    [path.join(file, 'deeper', 'data'), /is a file, not a directory$/]
  ]
  for (const [dir, message] of cases) {
    const started = Date.now()
    const err = (() => { try { ensurePrivateDirectory(dir, 'DATA_DIR') } catch (e) { return e } })()
    t.type(err, DirectoryUnusableError, dir)
    t.match((err as Error).message, message)
    t.notOk((err as Error).message.includes('\n'), 'one line')
    t.ok(Date.now() - started < 1000, `within a second (${Date.now() - started} ms)`)
  }
})
