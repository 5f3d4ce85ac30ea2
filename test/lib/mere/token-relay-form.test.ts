import t from 'tap'
import { checkTokenRelayForm } from '../../../lib/mere/token-relay-form.js'

const CLIENT = 'gateway-app'
const VERIFIER = 'v'.repeat(43)
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const exchange = (over: Record<string, string> = {}) =>
  form({ grant_type: 'authorization_code', code: 'c1', redirect_uri: 'https://gw.example/cb', code_verifier: VERIFIER, client_id: CLIENT, ...over })

t.test("a public client's code exchange is relayed, rebuilt in one order from its checked values", async (t) => {
  const body = `client_id=${CLIENT}&code_verifier=${VERIFIER}&redirect_uri=https%3A%2F%2Fgw.example%2Fcb%3Fx%3D1&code=a+b&grant_type=authorization_code`
  t.same(checkTokenRelayForm(body, CLIENT), {
    ok: true,
    form: `grant_type=authorization_code&code=a%20b&redirect_uri=https%3A%2F%2Fgw.example%2Fcb%3Fx%3D1&code_verifier=${VERIFIER}&client_id=${CLIENT}`
  })
  for (const verifier of ['a'.repeat(43), 'A-Z.a_z~0'.repeat(5), 'x'.repeat(128)]) {
    t.ok(checkTokenRelayForm(exchange({ code_verifier: verifier }), CLIENT).ok, `verifier of ${verifier.length}`)
  }
  t.ok(checkTokenRelayForm(exchange({ code: 'c'.repeat(4096), redirect_uri: 'r'.repeat(4096) }), CLIENT).ok, '4096 characters each')
})

t.test('everything else is refused before Healow is asked, each with the reason', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['a malformed escape', 'grant_type=%zz', 'the body is not form-encoded OAuth parameters (malformed %-escape, control character or too many parameters)'],
    ['a control character', exchange({ code: 'a\u0000' }), 'the body is not form-encoded OAuth parameters (malformed %-escape, control character or too many parameters)'],
    ['no grant', form({ code: 'c' }), "grant_type must be authorization_code: the relay exchanges a public client's code only"],
    ['a refresh', exchange({ grant_type: 'refresh_token' }), "grant_type must be authorization_code: the relay exchanges a public client's code only"],
    ['a grant in capitals', exchange({ grant_type: 'AUTHORIZATION_CODE' }), "grant_type must be authorization_code: the relay exchanges a public client's code only"],
    ['a secret', exchange({ client_secret: 's' }), 'parameter "client_secret" is not relayed; the relay takes only grant_type, code, redirect_uri, code_verifier, client_id'],
    ['an assertion', exchange({ client_assertion: 'a' }), 'parameter "client_assertion" is not relayed; the relay takes only grant_type, code, redirect_uri, code_verifier, client_id'],
    ['a long name', exchange({ ['n'.repeat(40)]: 'x' }), `parameter "${'n'.repeat(32)}" is not relayed; the relay takes only grant_type, code, redirect_uri, code_verifier, client_id`],
    ['a code twice', `${exchange()}&code=c2`, 'parameter "code" is given more than once'],
    ['a grant twice', `${exchange()}&grant_type=refresh_token`, 'parameter "grant_type" is given more than once'],
    ['a client twice', `${exchange()}&client_id=${CLIENT}`, 'parameter "client_id" is given more than once'],
    ['no code', exchange({ code: '' }), 'code is required (1 to 4096 characters)'],
    ['a long code', exchange({ code: 'c'.repeat(4097) }), 'code is required (1 to 4096 characters)'],
    ['no redirect_uri', exchange({ redirect_uri: '' }), 'redirect_uri is required (1 to 4096 characters)'],
    ['a long redirect_uri', exchange({ redirect_uri: 'r'.repeat(4097) }), 'redirect_uri is required (1 to 4096 characters)'],
    ['no verifier', exchange({ code_verifier: '' }), 'code_verifier must be a PKCE verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~'],
    ['a short verifier', exchange({ code_verifier: 'v'.repeat(42) }), 'code_verifier must be a PKCE verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~'],
    ['a long verifier', exchange({ code_verifier: 'v'.repeat(129) }), 'code_verifier must be a PKCE verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~'],
    ['a verifier with a space', exchange({ code_verifier: `${'v'.repeat(42)} ` }), 'code_verifier must be a PKCE verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~'],
    ['a verifier with a slash', exchange({ code_verifier: `/${'v'.repeat(42)}` }), 'code_verifier must be a PKCE verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~'],
    ['no client', exchange({ client_id: '' }), "client_id must be this gateway's HEALOW_CLIENT_ID"],
    ['another app', exchange({ client_id: 'other-app' }), "client_id must be this gateway's HEALOW_CLIENT_ID"],
    ['a longer name', exchange({ client_id: `${CLIENT}x` }), "client_id must be this gateway's HEALOW_CLIENT_ID"],
    ['a prefix', exchange({ client_id: CLIENT.slice(0, -1) }), "client_id must be this gateway's HEALOW_CLIENT_ID"]
  ]
  for (const [what, body, problem] of cases) t.same(checkTokenRelayForm(body, CLIENT), { ok: false, problem }, what)
  const missing = new URLSearchParams(exchange())
  missing.delete('client_id')
  t.same(checkTokenRelayForm(missing.toString(), CLIENT), { ok: false, problem: "client_id must be this gateway's HEALOW_CLIENT_ID" })
})
