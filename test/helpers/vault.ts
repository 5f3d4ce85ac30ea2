import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { openStore } from '../../lib/store/open.js'
import type { Store } from '../../lib/store/types.js'
import { TokenCipher } from '../../lib/tokens/cipher.js'
import { Vault, type NewConnectionInput } from '../../lib/tokens/vault.js'
import { tempDir } from './app.js'

type Test = Parameters<typeof tempDir>[0]

/** A connection as a login at the sandbox practice would store it. */
export const SANDBOX_CONNECTION: NewConnectionInput = {
  practiceId: 'JAFJCD',
  fhirBase: 'https://fhir4.healow.com/fhir/r4/JAFJCD',
  patientId: 'p-1',
  scope: 'openid fhirUser offline_access patient/*.read',
  accessExpiresAt: Date.now() + 3600_000,
  tokens: { accessToken: 'access-1', refreshToken: 'refresh-1' }
}

/** A fresh SQLite store in a temporary directory, and the vault over it: no server, for lib-level tests. */
export async function openTestVault (t: Test): Promise<{ store: Store, vault: Vault }> {
  const store = await openStore(`sqlite:${path.join(tempDir(t), 'store.db')}`)
  t.teardown(() => store.close())
  return { store, vault: new Vault(store, new TokenCipher(randomBytes(32))) }
}
