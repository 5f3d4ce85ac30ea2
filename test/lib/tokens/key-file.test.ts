import t from 'tap'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadVaultKey } from '../../../lib/tokens/key-file.js'

function scratch (t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'healow-sync-key-file-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('VAULT_KEY, when set, is the key: no file is written and nothing is said', async (t) => {
  const dir = scratch(t)
  const warnings: string[] = []
  t.same(loadVaultKey('cd'.repeat(32), dir, (w) => warnings.push(w)), Buffer.alloc(32, 0xcd))
  t.notOk(existsSync(path.join(dir, 'vault.key')))
  t.same(warnings, [])
  t.throws(() => loadVaultKey('cd'.repeat(31), dir, () => {}), { message: /^VAULT_KEY must be 32 bytes/ }, 'a bad one is refused, not replaced by a file')
})

t.test('without VAULT_KEY a key file is made once, mode 0600, with a warning that says to back it up', async (t) => {
  const dir = path.join(scratch(t), 'data')
  const warnings: string[] = []
  const key = loadVaultKey(undefined, dir, (w) => warnings.push(w))
  const file = path.join(dir, 'vault.key')
  t.equal(key.length, 32)
  t.equal(readFileSync(file, 'utf8'), `${key.toString('hex')}\n`)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.equal(statSync(dir).mode & 0o777, 0o700, 'in a private directory')
  t.same(warnings, [`VAULT_KEY is not set: generated a vault key into ${file}. Back it up (without it the stored tokens are lost) or set VAULT_KEY.`])
  t.same(loadVaultKey(undefined, dir, (w) => warnings.push(w)), key, 'then reused')
  t.same(loadVaultKey('', dir, (w) => warnings.push(w)), key, 'an empty VAULT_KEY is no key')
  t.equal(warnings.length, 1, 'without another warning')
})

t.test('a key file others can read is used, with a warning that names the fix', async (t) => {
  const dir = scratch(t)
  const file = path.join(dir, 'vault.key')
  writeFileSync(file, `  ${'ef'.repeat(32)}\n\n`)
  for (const [mode, warned] of [[0o600, false], [0o400, false], [0o640, true], [0o604, true], [0o644, true]] as const) {
    chmodSync(file, mode)
    const warnings: string[] = []
    t.same(loadVaultKey(undefined, dir, (w) => warnings.push(w)), Buffer.alloc(32, 0xef), `mode ${mode.toString(8)}`)
    t.same(warnings, warned ? [`${file} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`] : [], `mode ${mode.toString(8)}`)
  }
  writeFileSync(file, 'not a key')
  t.throws(() => loadVaultKey(undefined, dir, () => {}), { message: /^VAULT_KEY must be 32 bytes/ }, 'a damaged file is refused, never overwritten')
  t.equal(readFileSync(file, 'utf8'), 'not a key')
})

t.test('a planted symlink is not followed: the key is never written where someone else chose', async (t) => {
  const dir = scratch(t)
  const elsewhere = path.join(scratch(t), 'stolen.key')
  symlinkSync(elsewhere, path.join(dir, 'vault.key'))
  t.throws(() => loadVaultKey(undefined, dir, () => {}), { code: 'EEXIST' })
  t.notOk(existsSync(elsewhere), 'nothing written through the link')
})

t.test('a DATA_DIR that cannot be made is named in the refusal', async (t) => {
  const file = path.join(scratch(t), 'a-file')
  writeFileSync(file, '')
  t.throws(() => loadVaultKey(undefined, path.join(file, 'data'), () => {}), { message: new RegExp(`^DATA_DIR "${file}/data" cannot be created`) })
})
