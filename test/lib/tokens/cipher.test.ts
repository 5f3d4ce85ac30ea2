import t from 'tap'
import { parseVaultKey, TokenCipher, VaultKeyMismatchError, vaultKeyProblem } from '../../../lib/tokens/cipher.js'

const KEY = Buffer.alloc(32, 1)
// Sealed by this code under KEY for 'connection:one': a vault written by an older release must stay readable.
const STORED = 'v1.uYbKSmm7.d4SDxQYAnGp23bag.DZMupN6DiPl40lp91PB8rA.uNj3zpKQPxT8YiRozNVPdcWmHIQ'

t.test('a ciphertext sealed by an earlier release opens, with its key id, unchanged', async (t) => {
  const cipher = new TokenCipher(KEY)
  t.equal(cipher.keyId, 'uYbKSmm7')
  t.equal(cipher.decrypt(STORED, 'connection:one'), '{"accessToken":"é"}')
  t.equal(cipher.digest('Observation/1'), 'BmZTy3Yq19WxGnt4XQiCyqAwKJZoAsQ6TgXbeiTEvWo', 'lookup digests stay the same across releases')
  t.equal(cipher.deriveKey('cookies').toString('hex'), 'a4c52fdeb5e50f669063375dbaec65d34f496f3ba0b197f640236ec00de82a19')
})

t.test('what is sealed is v1, under the key id, and opens only for the record it is bound to', async (t) => {
  const cipher = new TokenCipher(KEY)
  const plaintext = '{"accessToken":"é ✓ 𝄞"}'
  const sealed = cipher.encrypt(plaintext, 'connection:one')
  const [format, keyId, iv, tag, body] = sealed.split('.')
  t.equal(format, 'v1')
  t.equal(keyId, cipher.keyId)
  t.equal(Buffer.from(iv, 'base64url').length, 12, 'a 96-bit nonce')
  t.equal(Buffer.from(tag, 'base64url').length, 16, 'a full GCM tag')
  t.equal(Buffer.from(body, 'base64url').length, Buffer.byteLength(plaintext), 'the body is the text, encrypted')
  t.notOk(sealed.includes('accessToken'), 'not in clear')
  t.equal(cipher.decrypt(sealed, 'connection:one'), plaintext)
  t.equal(cipher.decrypt(cipher.encrypt('', 'c'), 'c'), '', 'an empty text too')
  t.not(cipher.encrypt('x', 'c').split('.')[2], cipher.encrypt('x', 'c').split('.')[2], 'a fresh nonce each time')
  t.throws(() => cipher.decrypt(sealed, 'connection:two'), /unable to authenticate/, 'a row copied onto another connection does not open')
  t.throws(() => cipher.decrypt(sealed, 'connection:on'), /unable to authenticate/, 'nor onto one whose id is a prefix')
  t.throws(() => cipher.decrypt(cipher.encrypt('x', 'é'), 'e'), /unable to authenticate/, 'the binding is compared as UTF-8')
})

t.test('tampering and foreign text are refused, and a wrong key is told apart from them', async (t) => {
  const cipher = new TokenCipher(KEY)
  const sealed = cipher.encrypt('secret', 'c')
  const parts = sealed.split('.')
  const swap = (i: number, value: string) => parts.map((p, j) => (j === i ? value : p)).join('.')
  for (const [what, text] of [
    ['another format', swap(0, 'v2')],
    ['no format', swap(0, '')],
    ['no nonce', swap(2, '')],
    ['no tag', swap(3, '')],
    ['no body part', parts.slice(0, 4).join('.')],
    ['not even dotted', 'secret']
  ] as const) {
    t.throws(() => cipher.decrypt(text, 'c'), { message: 'not a vault ciphertext' }, what)
  }
  t.throws(() => cipher.decrypt(swap(4, Buffer.from('tampered').toString('base64url')), 'c'), /unable to authenticate/, 'a changed body')
  t.throws(() => cipher.decrypt(swap(3, Buffer.alloc(16).toString('base64url')), 'c'), /unable to authenticate/, 'a changed tag')
  const other = new TokenCipher(Buffer.alloc(32, 2))
  t.throws(() => other.decrypt(sealed, 'c'), {
    name: 'VaultKeyMismatchError',
    message: `sealed under vault key ${cipher.keyId}, the configured key is ${other.keyId}`
  })
  t.ok((() => { try { other.decrypt(sealed, 'c') } catch (err) { return err instanceof VaultKeyMismatchError } })())
  t.throws(() => cipher.decrypt(swap(1, other.keyId), 'c'), { name: 'VaultKeyMismatchError' }, 'a forged key id is not decrypted with the wrong key')
})

t.test('derived keys and digests: stable under one key, never the key, different per purpose and per key', async (t) => {
  const cipher = new TokenCipher(KEY)
  const other = new TokenCipher(Buffer.alloc(32, 2))
  t.same(cipher.deriveKey('cookies'), new TokenCipher(Buffer.alloc(32, 1)).deriveKey('cookies'))
  t.notSame(cipher.deriveKey('cookies'), KEY)
  t.notSame(cipher.deriveKey('cookies'), cipher.deriveKey('webhooks'))
  t.notSame(cipher.deriveKey('cookies'), other.deriveKey('cookies'))
  t.equal(cipher.digest('a'), cipher.digest('a'))
  t.not(cipher.digest('a'), cipher.digest('b'))
  t.not(cipher.digest('a'), other.digest('a'))
  t.not(cipher.digest('é'), cipher.digest('e'))
  t.not(other.keyId, cipher.keyId)
})

t.test('a vault key is 32 bytes as 64 hex characters or base64; anything else says how to make one', async (t) => {
  const hex = 'ab'.repeat(32)
  t.same(parseVaultKey(hex), Buffer.alloc(32, 0xab))
  t.same(parseVaultKey(hex.toUpperCase()), Buffer.alloc(32, 0xab), 'upper-case hex')
  t.same(parseVaultKey(Buffer.alloc(32, 7).toString('base64')), Buffer.alloc(32, 7), 'base64')
  t.same(parseVaultKey(Buffer.alloc(32, 0xfb).toString('base64url')), Buffer.alloc(32, 0xfb), 'base64url')
  t.equal(vaultKeyProblem('VAULT_KEY', hex), undefined)
  const problem = 'VAULT_KEY must be 32 bytes, written as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)'
  for (const bad of ['ab'.repeat(31), 'ab'.repeat(33), `x${hex}`, `${hex}x`, `a${hex}`, `${hex}a`, Buffer.alloc(31).toString('base64'), Buffer.alloc(33).toString('base64'), '']) {
    t.equal(vaultKeyProblem('VAULT_KEY', bad), problem, JSON.stringify(bad))
    t.throws(() => parseVaultKey(bad), { message: problem })
  }
  t.throws(() => parseVaultKey('short', 'NEW_VAULT_KEY'), { message: /^NEW_VAULT_KEY must be 32 bytes/ })
  t.throws(() => new TokenCipher(Buffer.alloc(16)), { message: 'AES-256 needs a 32-byte key' })
  t.throws(() => new TokenCipher(Buffer.alloc(33)), { message: 'AES-256 needs a 32-byte key' })
})
