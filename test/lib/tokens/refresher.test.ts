import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConnectionNotFoundError, ReauthRequiredError, UpstreamUnavailableError } from '../../../lib/errors.js'
import { MARGIN_MS, RECONNECT, refresherOn, rejection, rotated } from '../../helpers/refresher.js'
import { SANDBOX_CONNECTION } from '../../helpers/vault.js'

t.test('a token with more than the margin to live is handed out as it is', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() + MARGIN_MS + 5_000 } })
  t.equal(await s.refresher.accessToken(s.id), 'access-1')
  t.equal(s.healow.requests.length, 0, 'no call to Healow')
})

t.test('a token within the margin is refreshed: rotated tokens committed, then handed out', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() + MARGIN_MS - 5_000 } })
  s.healow.script(rotated(2, { scope: 'patient/Observation.read' }))
  const before = Date.now()
  t.equal(await s.refresher.accessToken(s.id), 'access-2')
  t.equal(s.healow.requests.length, 1)
  t.equal(s.healow.requests[0].form.get('grant_type'), 'refresh_token')
  t.equal(s.healow.requests[0].form.get('refresh_token'), 'refresh-1')
  t.equal(s.healow.requests[0].authorization, `Basic ${Buffer.from('client:secret').toString('base64')}`)
  const stored = (await s.vault.read(s.id))!
  t.same(stored.tokens, { accessToken: 'access-2', refreshToken: 'refresh-2', idToken: 'id-2' })
  t.equal(stored.tokenVersion, 2, 'one version on')
  t.equal(stored.scope, 'patient/Observation.read')
  t.ok(stored.accessExpiresAt >= before + 3_600_000 && stored.accessExpiresAt <= Date.now() + 3_600_000, 'an hour from the answer')
  t.same(s.outcomes, ['refreshed'])
  t.same(s.budgetTaken, ['JAFJCD'], "one request taken from the practice's budget")
  t.match(s.tokenCalls, [{ practiceId: 'JAFJCD', status: 200 }])
  t.equal(s.tokenCalls.length, 1)
  t.ok(s.tokenCalls[0].seconds > 0 && s.tokenCalls[0].seconds < 5, 'the call timed in seconds')
  t.match(s.logs, [{ level: 'info', message: 'refreshed access token', details: { connectionId: s.id, practiceId: 'JAFJCD' } }])
})

t.test('what a refresh returns is what was committed', async (t) => {
  const s = await refresherOn(t)
  s.healow.script(rotated(2))
  const before = Date.now()
  const refreshed = await s.refresher.refresh(s.id)
  const stored = (await s.vault.read(s.id))!
  t.same(refreshed.tokens, stored.tokens)
  t.equal(refreshed.tokenVersion, stored.tokenVersion)
  t.equal(refreshed.accessExpiresAt, stored.accessExpiresAt)
  t.equal(refreshed.scope, SANDBOX_CONNECTION.scope, 'no scope in the answer: the old one is kept')
  t.equal(refreshed.lastError, null)
  t.ok(refreshed.lastRefreshAt! >= before && refreshed.lastRefreshAt! <= Date.now())
})

t.test('an answer without a refresh or id token keeps the old ones; no usable expires_in means an hour', async (t) => {
  for (const expiresIn of [undefined, 0, -5, '120']) {
    const s = await refresherOn(t)
    s.healow.script({ body: { access_token: 'access-2', token_type: 'Bearer', ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) } })
    s.vault.forget(s.id)
    const before = Date.now()
    await s.refresher.refresh(s.id)
    const stored = (await s.vault.read(s.id))!
    t.same(stored.tokens, { accessToken: 'access-2', refreshToken: 'refresh-1' }, `expires_in ${String(expiresIn)}: the refresh token is still the live one`)
    t.ok(stored.accessExpiresAt >= before + 3_600_000 && stored.accessExpiresAt <= Date.now() + 3_600_000, `expires_in ${String(expiresIn)}: an hour`)
  }
  const s = await refresherOn(t, { connection: { tokens: { accessToken: 'access-1', refreshToken: 'refresh-1', idToken: 'id-1' } } })
  s.healow.script(rotated(2, { expires_in: 120, id_token: undefined }))
  const before = Date.now()
  await s.refresher.refresh(s.id)
  const stored = (await s.vault.read(s.id))!
  t.equal(stored.tokens.idToken, 'id-1')
  t.ok(stored.accessExpiresAt >= before + 120_000 && stored.accessExpiresAt <= Date.now() + 120_000, 'expires_in is seconds')
})

t.test('a token Healow refused is refreshed once, unless another caller already replaced it', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() + 3_600_000 } })
  const record = (await s.vault.record(s.id))!
  s.healow.script(rotated(2))
  t.equal(await s.refresher.accessToken(s.id, { rejected: 'access-1', record }), 'access-2', 'still fresh by its expiry, but refused: refreshed')
  t.equal(await s.refresher.accessToken(s.id, { rejected: 'access-1', record }), 'access-2',
    'a caller that saw the old token refused gets the new one, read again rather than from its stale record')
  t.equal(await s.refresher.accessToken(s.id, { record }), 'access-1', 'without a refusal the record read a moment ago is used as it is')
  t.equal(s.healow.requests.length, 1)
})

t.test('a refused token that cannot be replaced is an outage, not a lost login', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() + 3_600_000 } })
  s.healow.script({ status: 503 }, { status: 503 }, { status: 503 })
  const err = await rejection(s.refresher.accessToken(s.id, { rejected: 'access-1' }))
  t.ok(err instanceof UpstreamUnavailableError)
  t.equal(err.message, 'Healow refused the access token and its token endpoint cannot issue a new one now; the connection is kept, try again later')
  t.equal((await s.vault.read(s.id))!.status, 'active')
})

t.test('an unknown connection is not found', async (t) => {
  const s = await refresherOn(t)
  const err = await rejection(s.refresher.accessToken('00000000-0000-4000-8000-000000000000'))
  t.ok(err instanceof ConnectionNotFoundError)
  t.equal(err.message, 'No connection 00000000-0000-4000-8000-000000000000')
})

t.test('a connection that needs a new login is refused with its reason, and Healow is not called', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() - 1_000 } })
  await s.vault.markReauthRequired(s.id, 'the patient revoked access')
  for (const call of [() => s.refresher.accessToken(s.id), () => s.refresher.refresh(s.id)]) {
    const err = await rejection(call())
    t.ok(err instanceof ReauthRequiredError)
    t.equal(err.message, `The connection needs the patient to log in at Healow again (the patient revoked access); reconnect at ${RECONNECT}`)
  }
  t.equal(s.healow.requests.length, 0)
})

t.test('a public client has no refresh token: reauth_required, no call', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() - 1_000, tokens: { accessToken: 'access-1' } } })
  const err = await rejection(s.refresher.accessToken(s.id))
  const reason = 'access token expired and a public client has no refresh token'
  t.ok(err instanceof ReauthRequiredError)
  t.match(err.message, `(${reason})`)
  const stored = (await s.vault.read(s.id))!
  t.equal(stored.status, 'reauth_required')
  t.equal(stored.lastError, reason)
  t.same(s.outcomes, ['no_refresh_token'])
  t.equal(s.healow.requests.length, 0)
})

t.test("invalid_grant: the connection needs a new login, with Healow's description, and the token is not sent again", async (t) => {
  const s = await refresherOn(t)
  s.healow.script({ status: 400, body: { error: 'invalid_grant', error_description: 'x'.repeat(250) } })
  const err = await rejection(s.refresher.refresh(s.id))
  const reason = `Healow refused the refresh token (invalid_grant: ${'x'.repeat(200)})`
  t.ok(err instanceof ReauthRequiredError)
  t.equal(err.message, `The connection needs the patient to log in at Healow again (${reason}); reconnect at ${RECONNECT}`)
  t.match(await s.vault.read(s.id), { status: 'reauth_required', lastError: reason })
  t.same(s.outcomes, ['invalid_grant'])
  t.match(s.logs, [{ level: 'warn', message: 'connection needs a new login: invalid_grant', details: { connectionId: s.id } }])
  t.equal(s.healow.requests.length, 1)

  const plain = await refresherOn(t)
  plain.healow.script({ status: 400, body: { error: 'invalid_grant' } })
  t.match(await rejection(plain.refresher.refresh(plain.id)), { message: /\(Healow refused the refresh token \(invalid_grant\)\)/ })
})

t.test('what Healow provably ignored (503, 429) is sent again after the delays; then the error is kept', async (t) => {
  const s = await refresherOn(t, { options: { retryDelaysMs: [60, 120] } })
  s.healow.script({ status: 503 }, { status: 429 }, { status: 503 })
  const started = Date.now()
  const kept = await s.refresher.refresh(s.id)
  t.ok(Date.now() - started >= 175, 'waited 60 ms, then 120 ms')
  t.equal(s.healow.requests.length, 3, 'three attempts')
  t.same(s.budgetTaken, ['JAFJCD', 'JAFJCD', 'JAFJCD'], 'each from the budget')
  t.same(s.tokenCalls.map((c) => c.status), [undefined, undefined, undefined], 'no answer to count: Healow did not handle them')
  t.equal(kept.tokens.accessToken, 'access-1', 'the old token still has 30 s: handed out')
  t.match(await s.vault.read(s.id), { status: 'active', lastError: 'token endpoint answered 503' })
  t.same(s.outcomes, ['failed'])
  t.match(s.logs, [{ level: 'warn', message: 'refresh failed; tokens kept', details: { connectionId: s.id, problem: 'token endpoint answered 503' } }])

  const second = await refresherOn(t)
  second.healow.script({ status: 503 }, rotated(2))
  t.equal((await second.refresher.refresh(second.id)).tokens.accessToken, 'access-2', 'the second attempt succeeds')
})

t.test('with the old token about to expire, a failed refresh is an outage with the reason', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() + 4_000 } })
  s.healow.script({ status: 503 }, { status: 503 }, { status: 503 })
  const err = await rejection(s.refresher.accessToken(s.id))
  t.ok(err instanceof UpstreamUnavailableError)
  t.equal(err.message, 'Could not refresh the access token: token endpoint answered 503')
})

t.test('an answer that may have been acted on (500, cut mid-body) is never followed by the same token', async (t) => {
  for (const [answer, problem] of [
    [{ status: 500 }, 'token endpoint answered 500; Healow may have acted on it'],
    [{ ...rotated(2), cut: true }, /^token endpoint's answer \(200\) was cut off mid-body \(.+\); Healow may have acted on it$/]
  ] as const) {
    const s = await refresherOn(t)
    s.healow.script(answer, rotated(3))
    await s.refresher.refresh(s.id)
    t.equal(s.healow.requests.length, 1, 'one call')
    t.match(await s.vault.read(s.id), { status: 'active', lastError: problem, tokens: { refreshToken: 'refresh-1' } })
    t.same(s.outcomes, ['failed'])
  }
})

t.test("a refusal that is not the patient's (invalid_client) keeps the connection and is not retried", async (t) => {
  const s = await refresherOn(t)
  s.healow.script({ status: 401, body: { error: 'invalid_client' } }, rotated(2))
  await s.refresher.refresh(s.id)
  t.equal(s.healow.requests.length, 1)
  t.match(await s.vault.read(s.id), { status: 'active', lastError: 'token endpoint refused the request (401 invalid_client)' })
  t.same(s.outcomes, ['rejected'])
  const bare = await refresherOn(t)
  bare.healow.script({ status: 400, body: {} })
  await bare.refresher.refresh(bare.id)
  t.match(await bare.vault.read(bare.id), { lastError: 'token endpoint refused the request (400 )' })
})

t.test('concurrent callers share one refresh', async (t) => {
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() - 1_000 } })
  s.healow.script(rotated(2))
  const tokens = await Promise.all(Array.from({ length: 20 }, async () => await s.refresher.accessToken(s.id)))
  t.same(new Set(tokens), new Set(['access-2']))
  t.equal(s.healow.requests.length, 1)
  s.healow.script(rotated(3))
  t.equal((await s.refresher.refresh(s.id)).tokens.accessToken, 'access-3', 'a later refresh is a new one')
})

t.test('a slow Healow: callers stop waiting, the refresh goes on and is committed', async (t) => {
  let answer = () => {}
  const s = await refresherOn(t, { options: { callerWaitMs: 100 } })
  s.healow.script({ ...rotated(2), after: new Promise<void>((resolve) => { answer = resolve }) })
  const started = Date.now()
  t.equal(await s.refresher.accessToken(s.id, { rejected: 'access-1' }).catch((err: Error) => err.message),
    'Healow refused the access token and its token endpoint cannot issue a new one now; the connection is kept, try again later',
    'the old token still lives, but it was refused')
  t.equal((await s.refresher.refresh(s.id)).tokens.accessToken, 'access-1', 'a plain refresh meanwhile gets the old token, still good')
  t.ok(Date.now() - started < 1_500, 'callers waited about callerWaitMs')
  t.match(s.logs, [{ level: 'warn', message: 'token endpoint is slow; waiting for its answer (the refresh token is not sent again)' }])
  answer()
  await s.refresher.settle()
  t.equal((await s.vault.read(s.id))!.tokens.accessToken, 'access-2', 'committed when it came')
  t.equal(s.healow.requests.length, 1)
})

t.test('a slow Healow and an old token about to expire: try again in 5 s', async (t) => {
  let answer = () => {}
  const s = await refresherOn(t, { connection: { accessExpiresAt: Date.now() + 4_000 }, options: { callerWaitMs: 50 } })
  s.healow.script({ ...rotated(2), after: new Promise<void>((resolve) => { answer = resolve }) })
  const err = await rejection(s.refresher.accessToken(s.id))
  t.ok(err instanceof UpstreamUnavailableError)
  t.equal(err.message, "Healow's token endpoint has not answered yet; its answer is saved when it arrives, try again shortly")
  t.equal(err.retryAfterMs, 5_000)
  answer()
  await s.refresher.settle()
})

t.test('a slow Healow and a connection that turned reauth_required meanwhile', async (t) => {
  let answer = () => {}
  const s = await refresherOn(t, { options: { callerWaitMs: 50 } })
  s.healow.script({ status: 400, body: { error: 'invalid_grant' }, after: new Promise<void>((resolve) => { answer = resolve }) })
  const waiting = s.refresher.refresh(s.id)
  await sleep(10)
  await s.vault.markReauthRequired(s.id, 'revoked elsewhere')
  t.match(await rejection(waiting), { message: /\(revoked elsewhere\)/ })
  answer()
  await s.refresher.settle()
})

t.test('the lease is held for as long as Healow takes, and released after', async (t) => {
  let answer = () => {}
  const s = await refresherOn(t, { options: { leaseTtlMs: 300, callerWaitMs: 5_000 } })
  s.healow.script({ ...rotated(2), after: new Promise<void>((resolve) => { answer = resolve }) })
  const refreshing = s.refresher.refresh(s.id)
  await sleep(700)
  t.notOk(await s.store.refreshLeases.acquire(s.id, 'another-instance', Date.now(), 300), 'renewed past its 300 ms')
  answer()
  await refreshing
  t.ok(await s.store.refreshLeases.acquire(s.id, 'another-instance', Date.now(), 300), 'released when done')
})

t.test('while another instance holds the lease, its result is waited for, not refreshed again', async (t) => {
  const s = await refresherOn(t)
  t.ok(await s.store.refreshLeases.acquire(s.id, 'another-instance', Date.now(), 60_000))
  const waiting = s.refresher.refresh(s.id)
  await sleep(150)
  const c = (await s.vault.read(s.id))!
  t.ok(await s.vault.saveRefreshed(s.id, c.tokenVersion, { accessToken: 'access-by-other', refreshToken: 'refresh-by-other' }, Date.now() + 3_600_000, undefined))
  t.equal((await waiting).tokens.accessToken, 'access-by-other')
  t.equal(s.healow.requests.length, 0)

  const reauth = await refresherOn(t)
  t.ok(await reauth.store.refreshLeases.acquire(reauth.id, 'another-instance', Date.now(), 60_000))
  const refused = reauth.refresher.refresh(reauth.id)
  await sleep(150)
  await reauth.vault.markReauthRequired(reauth.id, 'invalid_grant at the other instance')
  t.match(await rejection(refused), { message: /\(invalid_grant at the other instance\)/ })
})

t.test('a refresh that finds the connection already refreshed under the lease returns that', async (t) => {
  const s = await refresherOn(t)
  const c = (await s.vault.read(s.id))!
  t.ok(await s.vault.saveRefreshed(s.id, c.tokenVersion, { accessToken: 'access-new', refreshToken: 'refresh-new' }, Date.now() + 3_600_000, undefined))
  t.equal((await s.refresher.refresh(s.id, { after: c.tokenVersion })).tokens.accessToken, 'access-new')
  t.equal(s.healow.requests.length, 0)
})

t.test('a result that cannot be saved (the version moved under us) is an outage, logged', async (t) => {
  let answer = () => {}
  const s = await refresherOn(t, { options: { callerWaitMs: 5_000 } })
  s.healow.script({ ...rotated(2), after: new Promise<void>((resolve) => { answer = resolve }) })
  const refreshing = s.refresher.refresh(s.id)
  await sleep(100)
  const c = (await s.vault.read(s.id))!
  t.ok(await s.vault.saveRefreshed(s.id, c.tokenVersion, c.tokens, c.accessExpiresAt, undefined))
  answer()
  const err = await rejection(refreshing)
  t.ok(err instanceof UpstreamUnavailableError)
  t.equal(err.message, 'Refresh raced with another writer; try again')
  t.match(s.logs, [{ level: 'error', message: 'refresh result could not be saved: another writer changed the connection' }])
  t.same(s.outcomes, [])
})

t.test('keepAlive refreshes the connections idle longer than asked, a batch at a time, and counts those refreshed', async (t) => {
  const s = await refresherOn(t)
  const twoHoursAgo = Date.now() - 7_200_000
  for (const patientId of ['p-2', 'p-3', 'p-4']) await s.vault.create({ ...SANDBOX_CONNECTION, patientId, accessExpiresAt: twoHoursAgo + 3_600_000 }, twoHoursAgo)
  s.healow.script(rotated(2), { status: 400, body: { error: 'invalid_grant' } })
  t.equal(await s.refresher.keepAlive(3_600_000, 2), 1, 'a batch of two: one refreshed, one failed')
  t.equal(s.healow.requests.length, 2)
  t.match(s.logs.filter((l) => l.message === 'keep-alive refresh failed'), [{ level: 'warn', details: { connectionId: /./, err: /invalid_grant/ } }])
  t.equal(await s.refresher.keepAlive(3 * 3_600_000), 0, 'none idle that long')
  s.healow.script(rotated(3))
  t.equal(await s.refresher.keepAlive(3_600_000), 1, 'the third; the new connection is not idle')
  t.equal(s.healow.requests.length, 3)
})

t.test('on a clock the test moves: each expiry judged to the millisecond', async (t) => {
  const T = 1_800_000_000_000
  const on = async (expiresInMs: number, options = {}) =>
    await refresherOn(t, { connection: { accessExpiresAt: T + expiresInMs }, options: { now: () => T, ...options } })

  const exactlyMargin = await on(MARGIN_MS)
  exactlyMargin.healow.script(rotated(2))
  t.equal(await exactlyMargin.refresher.accessToken(exactlyMargin.id), 'access-2', 'exactly the margin left: refreshed')
  t.equal((await exactlyMargin.vault.read(exactlyMargin.id))!.accessExpiresAt, T + 3_600_000, 'the new expiry on the same clock')
  t.equal((await exactlyMargin.vault.read(exactlyMargin.id))!.lastRefreshAt, T)
  const moreThanMargin = await on(MARGIN_MS + 1)
  t.equal(await moreThanMargin.refresher.accessToken(moreThanMargin.id), 'access-1', 'a millisecond more: handed out')

  for (const [left, outcome] of [[5_000, 'refused'], [5_001, 'access-1']] as const) {
    const failing = await on(left)
    failing.healow.script({ status: 503 }, { status: 503 }, { status: 503 })
    t.equal(await failing.refresher.accessToken(failing.id).catch((err: Error) => err instanceof UpstreamUnavailableError ? 'refused' : err.message), outcome,
      `refresh failed with ${left} ms left on the old token`)
    t.equal((await failing.vault.read(failing.id))!.updatedAt, T, 'the error recorded at that time')

    let answer = () => {}
    const slow = await on(left, { callerWaitMs: 30 })
    slow.healow.script({ ...rotated(2), after: new Promise<void>((resolve) => { answer = resolve }) })
    t.equal(await slow.refresher.accessToken(slow.id).catch((err: Error) => err instanceof UpstreamUnavailableError ? 'refused' : err.message), outcome,
      `Healow slow with ${left} ms left on the old token`)
    answer()
    await slow.refresher.settle()
  }
})

t.test('on a clock the test moves: waiting for another instance ends a lease and 5 s after it began', async (t) => {
  const T = 1_800_000_000_000
  const clock = { now: T }
  const s = await refresherOn(t, { options: { now: () => clock.now, leaseTtlMs: 1_000 } })
  t.ok(await s.store.refreshLeases.acquire(s.id, 'another-instance', T, 60_000))
  let settled = false
  const waiting = s.refresher.refresh(s.id).finally(() => { settled = true })
  waiting.catch(() => {})
  await sleep(150) // the wait has begun (its deadline taken) before the clock moves
  clock.now = T + 6_000
  await sleep(250)
  t.notOk(settled, 'still waiting at the deadline')
  clock.now = T + 6_001
  const err = await rejection(waiting)
  t.ok(err instanceof UpstreamUnavailableError)
  t.equal(err.message, 'Another gateway instance is still refreshing this connection; try again shortly')
  t.equal(err.retryAfterMs, 5_000)
  t.equal(s.healow.requests.length, 0)
})

t.test('a public client whose token expired: marked at the time it was found', async (t) => {
  const T = 1_800_000_000_000
  const s = await refresherOn(t, { connection: { accessExpiresAt: T - 1, tokens: { accessToken: 'access-1' } }, options: { now: () => T } })
  t.ok(await rejection(s.refresher.accessToken(s.id)))
  t.match(await s.vault.read(s.id), { status: 'reauth_required', updatedAt: T })
  const grant = await refresherOn(t, { connection: { accessExpiresAt: T - 1 }, options: { now: () => T + 7 } })
  grant.healow.script({ status: 400, body: { error: 'invalid_grant' } })
  t.ok(await rejection(grant.refresher.accessToken(grant.id)))
  t.match(await grant.vault.read(grant.id), { status: 'reauth_required', updatedAt: T + 7 })
})
