import t from 'tap'
import { sha256 } from '../../../lib/tokens/connections.js'
import { OAuthStates, isAllowedReturnTo } from '../../../lib/tokens/oauth-state.js'
import { openTestVault } from '../../helpers/vault.js'

const NOW = 1_700_000_000_000
const PENDING = { practiceId: 'JAFJCD', returnTo: 'https://app.example.org/done', expiresAt: NOW + 600_000 }

async function statesOn (t: Parameters<typeof openTestVault>[0]) {
  const { store } = await openTestVault(t)
  return { store, states: new OAuthStates(store.pendingAuthorizations) }
}

t.test('a state is 256 random bits, stored only as its hash, good once', async (t) => {
  const { store, states } = await statesOn(t)
  const state = await states.issue(PENDING)
  t.match(state, /^[A-Za-z0-9_-]{43}$/)
  t.not(await states.issue(PENDING), state, 'each sign-in its own')
  t.same(await states.consume(state, state, NOW), PENDING, 'the browser that started it, back with it')
  t.equal(await states.consume(state, state, NOW), null, 'a replay finds nothing')
  const other = await states.issue(PENDING)
  t.same(await store.pendingAuthorizations.consume(sha256(other), NOW), PENDING, 'recorded under the hash of the state')
})

t.test('a state whose cookie does not match is refused and stays usable for its own browser', async (t) => {
  const { states } = await statesOn(t)
  const state = await states.issue(PENDING)
  const attackerState = await states.issue({ ...PENDING, returnTo: null })
  t.equal(await states.consume(state, attackerState, NOW), null, 'another browser, with a cookie of its own')
  t.equal(await states.consume(state, undefined, NOW), null, 'another browser, no cookie')
  t.equal(await states.consume(state, state.slice(0, -1), NOW), null, 'a cookie one character short')
  t.equal(await states.consume(state.slice(0, -1), state, NOW), null, 'a state one character short')
  t.equal(await states.consume([state], state, NOW), null, 'a state given twice in the query (an array)')
  t.equal(await states.consume(undefined, undefined, NOW), null, 'neither a state nor a cookie')
  t.same(await states.consume(state, state, NOW), PENDING, 'the patient can still finish')
  t.same(await states.consume(attackerState, attackerState, NOW), { ...PENDING, returnTo: null })
})

t.test('an expired state is refused; one expiring this millisecond is not', async (t) => {
  const { states } = await statesOn(t)
  const late = await states.issue(PENDING)
  t.equal(await states.consume(late, late, PENDING.expiresAt + 1), null)
  const onTime = await states.issue(PENDING)
  t.same(await states.consume(onTime, onTime, PENDING.expiresAt), PENDING)
})

t.test('a state longer than any of ours is not looked up, even when the cookie matches', async (t) => {
  const { store, states } = await statesOn(t)
  const long = 'a'.repeat(201)
  await store.pendingAuthorizations.create(sha256(long), PENDING)
  t.equal(await states.consume(long, long, NOW), null)
  const longest = 'b'.repeat(200)
  await store.pendingAuthorizations.create(sha256(longest), PENDING)
  t.same(await states.consume(longest, longest, NOW), PENDING, '200 characters are still looked up')
})

t.test('return_to: an http(s) URL on an allowed origin, without credentials', async (t) => {
  const allowed = ['https://app.example.org', 'http://127.0.0.1:8080']
  for (const ok of ['https://app.example.org/done?x=1#y', 'https://app.example.org', 'http://127.0.0.1:8080/back']) {
    t.ok(isAllowedReturnTo(ok, allowed), ok)
  }
  for (const bad of [
    'https://evil.example.com/',
    'https://app.example.org.evil.com/',
    'https://app.example.org:8443/',
    'http://app.example.org/',
    'http://127.0.0.1:8081/back',
    'https://user@app.example.org/',
    'https://:secret@app.example.org/',
    'blob:https://app.example.org/0f1c1c0e-0000-4000-8000-000000000000',
    '//app.example.org/',
    '/relative',
    'javascript:alert(1)',
    'not a url'
  ]) {
    t.notOk(isAllowedReturnTo(bad, allowed), bad)
  }
  t.notOk(isAllowedReturnTo('https://app.example.org/', []), 'no allowed origin, nothing allowed')
})
