import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { TokenCipher } from '../../lib/tokens/cipher.js'
import { openStore } from '../../lib/store/open.js'
import { RECORD_REUSE_MS, Vault } from '../../lib/tokens/vault.js'
import { loadVaultKey } from '../../lib/tokens/key-file.js'
import { tempDir } from '../helpers/app.js'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'
import { testOnEachStore } from '../helpers/stores.js'

t.test('ciphertexts are bound to their connection and their key', async (t) => {
  const cipher = new TokenCipher(Buffer.alloc(32, 1))
  const sealed = cipher.encrypt('{"accessToken":"a"}', 'connection:one')
  t.equal(cipher.decrypt(sealed, 'connection:one'), '{"accessToken":"a"}')
  t.not(cipher.encrypt('x', 'c'), cipher.encrypt('x', 'c'), 'a fresh nonce each time')
  t.throws(() => cipher.decrypt(sealed, 'connection:two'), 'a row copied onto another connection does not decrypt')
  const parts = sealed.split('.')
  parts[4] = Buffer.from('tampered').toString('base64url')
  t.throws(() => cipher.decrypt(parts.join('.'), 'connection:one'), 'tampering is detected')
  t.throws(() => new TokenCipher(Buffer.alloc(32, 2)).decrypt(sealed, 'connection:one'), { name: 'VaultKeyMismatchError' }, 'another key is told apart from tampering')
})

t.test('without VAULT_KEY a key file is generated with mode 0600 and a warning, then reused', async (t) => {
  const dir = tempDir(t)
  const warnings: string[] = []
  const key = loadVaultKey(undefined, dir, (w) => warnings.push(w))
  t.equal(statSync(path.join(dir, 'vault.key')).mode & 0o777, 0o600)
  t.match(warnings[0], /generated a vault key/)
  t.same(loadVaultKey(undefined, dir, (w) => warnings.push(w)), key)
  t.equal(warnings.length, 1)
})

testOnEachStore('the database holds no token, key or secret in clear; rekey keeps everything readable', async (t, under) => {
  const vaultKey = 'ab'.repeat(32)
  const stack = await startStack(t, { store: under, env: { VAULT_KEY: vaultKey } })
  const { connectionId, key } = await connectPatient(stack)
  await stack.gw.app.tokens.refresh(connectionId)
  const { tokens } = (await stack.gw.app.vault.read(connectionId))!
  const secrets = [
    tokens.accessToken,
    tokens.refreshToken!,
    tokens.idToken!,
    key,
    stack.sim.clients.confidential.clientSecret,
    vaultKey
  ]
  const stored = await under.storedText(stack.gw.config.databaseUrl)
  t.ok(stored.includes(connectionId), 'the dump holds the connection')
  for (const secret of secrets) t.notOk(stored.includes(secret), 'the database does not contain a secret in clear')
  for (const file of readdirSync(stack.gw.dataDir)) {
    const bytes = readFileSync(path.join(stack.gw.dataDir, file)).toString('latin1')
    for (const secret of secrets) t.notOk(bytes.includes(secret), `${file} does not contain a secret in clear`)
  }
  for (const secret of secrets) t.notOk(stack.gw.logs.text.includes(secret), 'no secret in any log line')

  const next = new TokenCipher(Buffer.alloc(32, 9))
  t.equal(await stack.gw.app.vault.rekey(next), 1)
  t.same((await stack.gw.app.vault.read(connectionId))!.tokens, tokens, 'readable under the new key')
  t.equal((await fetch(`${stack.gw.url}/connections/${connectionId}/refresh`, { method: 'POST', headers: bearer(key) })).status, 200)
})

/** `healow-sync vault rekey` from the source, with nothing of this process's environment but PATH. */
const rekeyCommand = async (env: Record<string, string>) => await promisify(execFile)(process.execPath, ['--import=tsx', 'cli/healow-sync.ts', 'vault', 'rekey'], { env: { PATH: process.env.PATH ?? '', ...env } })

testOnEachStore('healow-sync vault rekey re-encrypts a stopped gateway\'s vault, given only the settings it reads', async (t, under) => {
  const stack = await startStack(t, { store: under })
  const { connectionId } = await connectPatient(stack)
  const { tokens } = (await stack.gw.app.vault.read(connectionId))!
  await stack.gw.app.close()
  const newKey = 'cd'.repeat(32)
  const { databaseUrl } = stack.gw.config
  // No HEALOW_CLIENT_ID or PUBLIC_URL: the command does not read them. The old key is the key file in DATA_DIR.
  const { stdout } = await rekeyCommand({
    DATA_DIR: stack.gw.dataDir,
    DATABASE_URL: databaseUrl,
    NEW_VAULT_KEY: newKey
  })
  t.match(stdout, /re-encrypted 1 connection\(s\)/)
  const reopened = await startStack(
    t,
    { env: { DATA_DIR: stack.gw.dataDir, DATABASE_URL: databaseUrl, VAULT_KEY: newKey } }
  )
  t.same((await reopened.gw.app.vault.read(connectionId))!.tokens, tokens)
})

t.test('healow-sync vault rekey refuses a malformed or missing new key, and a missing old one, before opening any vault', async (t) => {
  const dir = tempDir(t)
  const bad = await rekeyCommand({ DATA_DIR: dir, NEW_VAULT_KEY: 'short' }).catch((e: { code: number, stderr: string }) => e)
  t.match(bad, { code: 2, stderr: /NEW_VAULT_KEY must be 32 bytes/ })
  const missing = await rekeyCommand({ DATA_DIR: dir }).catch((e: { code: number, stderr: string }) => e)
  t.match(missing, { code: 2, stderr: /NEW_VAULT_KEY is required/ })
  const noOldKey = await rekeyCommand({ DATA_DIR: dir, NEW_VAULT_KEY: 'cd'.repeat(32) }).catch((e: { code: number, stderr: string }) => e)
  t.match(noOldKey, { code: 1, stderr: /no vault key: VAULT_KEY is not set/ })
  t.same(readdirSync(dir), [], 'no database and no key file were created')
})

t.test('key-check records are reused for at most RECORD_REUSE_MS; local writes drop them at once', async (t) => {
  const file = `sqlite:${path.join(tempDir(t), 'shared.db')}`
  const [storeA, storeB] = [await openStore(file), await openStore(file)]
  t.teardown(async () => { await storeA.close(); await storeB.close() })
  const cipher = new TokenCipher(Buffer.alloc(32, 3))
  // Two vaults on one database: two gateway instances.
  const [a, b] = [new Vault(storeA, cipher), new Vault(storeB, cipher)]
  const id = await a.create({ practiceId: 'P', fhirBase: 'https://fhir4.healow.com/fhir/r4/P', patientId: 'p', scope: '', tokens: { accessToken: 'x' }, accessExpiresAt: Date.now() + 60_000 })
  t.ok(await a.record(id))
  t.ok(await b.destroy(id), 'deleted by the other instance')
  t.ok(await a.record(id), 'still remembered here for a moment')
  await new Promise((resolve) => setTimeout(resolve, RECORD_REUSE_MS + 50))
  t.equal(await a.record(id), null, 'gone here too once the reuse window has passed')

  const local = await a.create({ practiceId: 'P', fhirBase: 'https://fhir4.healow.com/fhir/r4/P', patientId: 'p', scope: '', tokens: { accessToken: 'y' }, accessExpiresAt: Date.now() + 60_000 })
  t.ok(await a.record(local))
  await a.destroy(local)
  t.equal(await a.record(local), null, 'a delete through this instance takes effect at once')
})
