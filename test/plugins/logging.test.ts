import t from 'tap'
import pino from 'pino'
import { loggingOptions, redactUrl, scrubLogLine } from '../../plugins/logging.js'
import { LogCapture } from '../helpers/app.js'

t.test('query strings lose their credentials, and nothing else', async (t) => {
  t.equal(redactUrl('/healow/callback?code=abc&state=xyz&iss=1'), '/healow/callback?code=[Redacted]&state=[Redacted]&iss=1')
  t.equal(redactUrl('/tenants?q=cardiology'), '/tenants?q=cardiology')
})

t.test('a line is scrubbed of configured secrets and credential-shaped text', async (t) => {
  const line = scrubLogLine('{"msg":"Bearer abc.def-123 and Basic Zm9vOmJhcg== and topsecretvalue","x":"{\\"refresh_token\\":\\"rt1\\"}"}', ['topsecretvalue'])
  t.notMatch(line, /abc\.def-123|Zm9vOmJhcg|topsecretvalue|rt1/)
  const shaped = scrubLogLine(`key hsk_${'k'.repeat(43)} handle hsa.id.hsk_${'k'.repeat(43)} jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwMSJ9.c2lnbmF0dXJl`, [])
  t.notMatch(shaped, /hsk_k|eyJhbGci/, 'keys, handles and JWTs found by their shape')
})

t.test('the logger redacts tokens, keys and codes by field, but keeps error codes', async (t) => {
  const capture = new LogCapture()
  const options = loggingOptions({ config: { LOG_LEVEL: 'info', LOG_FORMAT: 'json', HEALOW_CLIENT_SECRET: 'client-secret-1234', VAULT_KEY: undefined }, stream: capture })
  const log = pino({ ...(options.logger as object) }, capture)
  log.info({ tokens: { access_token: 'at-1', refresh_token: 'rt-1' }, key: 'hsk_x', request: { query: { code: 'oauth-code-1' } }, err: { code: 'ENOENT' } }, 'shapes')
  log.info({ config: { HEALOW_CLIENT_SECRET: 'client-secret-1234' } }, 'config')
  const text = capture.text
  for (const secret of ['at-1', 'rt-1', 'hsk_x', 'oauth-code-1', 'client-secret-1234']) t.notOk(text.includes(secret), `${secret} redacted`)
  t.match(text, /"code":"ENOENT"/, 'an error code stays readable')
})
