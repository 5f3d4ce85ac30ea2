import t, { type Test } from 'tap'
import { GatewayError } from '../../../lib/errors.js'
import { Connections, HANDOFF_TTL_MS, sha256 } from '../../../lib/tokens/connections.js'
import { SANDBOX_CONNECTION, openTestVault } from '../../helpers/vault.js'

async function connectionsOn (t: Parameters<typeof openTestVault>[0]) {
  const { store, vault } = await openTestVault(t)
  const connectionId = await vault.create(SANDBOX_CONNECTION)
  return { store, vault, connections: new Connections(store, vault), connectionId }
}

const REFUSAL = /^Missing or wrong connection key: send the key from POST \/connections\/claim as "Authorization: Bearer <key>"$/

async function refusal (t: Test, promise: Promise<unknown>, name: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof GatewayError, `${name}: refused`)
  t.match(err, { statusCode: 401, code: 'unauthorized', message: REFUSAL }, name)
}

t.test('SHA-256 as hex of the UTF-8 text', async (t) => {
  t.equal(sha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  t.equal(sha256('é'), '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c', 'UTF-8 (é is two bytes)')
})

t.test('a handoff becomes a key once; the key is stored only as its hash', async (t) => {
  const { store, connections, connectionId } = await connectionsOn(t)
  const now = 1_700_000_000_000
  const handoff = await connections.createHandoff(connectionId, now)
  t.match(handoff, /^hsh_[A-Za-z0-9_-]{43}$/, 'a recognisable 256-bit code')
  t.not(await connections.createHandoff(connectionId, now), handoff, 'each its own')
  const claimed = await connections.claim(handoff, now)
  t.equal(claimed?.connectionId, connectionId)
  t.match(claimed?.key, /^hsk_[A-Za-z0-9_-]{43}$/, 'a recognisable 256-bit key')
  t.equal((await store.connections.get(connectionId))?.keyHash, sha256(claimed!.key), 'only the hash is stored')
  t.equal(await connections.claim(handoff, now), null, 'spent')
  t.equal(await connections.claim('hsh_' + 'A'.repeat(43), now), null, 'made up')
})

t.test('a handoff lives five minutes, to the millisecond', async (t) => {
  const { connections, connectionId } = await connectionsOn(t)
  const now = 1_700_000_000_000
  t.equal(HANDOFF_TTL_MS, 300_000)
  const onTime = await connections.createHandoff(connectionId, now)
  t.equal((await connections.claim(onTime, now + HANDOFF_TTL_MS))?.connectionId, connectionId, 'at its last millisecond')
  const late = await connections.createHandoff(connectionId, now)
  t.equal(await connections.claim(late, now + HANDOFF_TTL_MS + 1), null, 'one millisecond later')
})

t.test('a key opens its own connection only; a new key ends the old one at once', async (t) => {
  const { vault, connections, connectionId } = await connectionsOn(t)
  const otherId = await vault.create({ ...SANDBOX_CONNECTION, patientId: 'p-2' })
  t.equal(await connections.verifyKey(connectionId, 'hsk_' + 'A'.repeat(43)), null, 'no key issued yet')
  const key = await connections.issueKey(connectionId)
  const otherKey = await connections.issueKey(otherId)
  const row = await vault.record(connectionId)
  t.same(await connections.verifyKey(connectionId, key), {
    id: connectionId,
    practiceId: 'JAFJCD',
    fhirBase: SANDBOX_CONNECTION.fhirBase,
    patientId: 'p-1',
    status: 'active',
    record: row
  })
  t.equal(await connections.verifyKey(connectionId, otherKey), null, "another connection's key")
  t.equal(await connections.verifyKey(otherId, key), null, 'the key on another connection')
  t.equal(await connections.verifyKey(connectionId, key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')), null, 'one character off')
  t.equal(await connections.verifyKey('00000000-0000-4000-8000-000000000000', key), null, 'unknown connection')

  // The record was just read (and is reused for a moment): the new key must still end the old one now.
  const replacement = await connections.issueKey(connectionId)
  t.equal(await connections.verifyKey(connectionId, key), null, 'the old key stops working at once')
  t.equal((await connections.verifyKey(connectionId, replacement))?.id, connectionId)
  t.equal((await connections.claim(await connections.createHandoff(connectionId)))?.connectionId, connectionId)
  t.equal(await connections.verifyKey(connectionId, replacement), null, 'a claimed handoff replaces the key too')
})

t.test('authenticate: "Authorization: Bearer <key>" exactly, one answer for every failure', async (t) => {
  const { connections, connectionId } = await connectionsOn(t)
  const key = await connections.issueKey(connectionId)
  t.equal((await connections.authenticate(`Bearer ${key}`, connectionId)).id, connectionId)
  for (const [name, header] of [
    ['no header', undefined],
    ['empty', ''],
    ['the key alone', key],
    ['another scheme', `Basic ${key}`],
    ['lower-case scheme', `bearer ${key}`],
    ['two spaces', `Bearer  ${key}`],
    ['a trailing space', `Bearer ${key} `],
    ['a second credential', `Bearer ${key}, Bearer ${key}`],
    ['a wrong key', `Bearer hsk_${'A'.repeat(43)}`]
  ] as const) {
    await refusal(t, connections.authenticate(header, connectionId), name)
  }
  await refusal(t, connections.authenticate(`Bearer ${key}`, '00000000-0000-4000-8000-000000000000'), 'unknown connection')
})
