import t from 'tap'
import { PatientBrowser } from '../../simulator/browser.js'
import { authorize, authorizeRequest } from './oauth-client.js'
import { startForTest } from './start.js'

t.test('without auto-login, the patient signs in on a form', async (t) => {
  const sim = await startForTest(t, { autoLogin: false })
  const practice = sim.practices[2]
  const browser = new PatientBrowser()
  const { url } = authorizeRequest(sim, practice, 'confidential')
  const stopAtLogin = await browser.followUntil(url, (u) => u.pathname.startsWith('/oauth/interaction/'), { requestFinal: true })
  const page = await stopAtLogin.response!.text()
  t.match(page, /<form method="post"/, 'a login form')
  t.match(page, practice.login, 'offers the demo login')
  t.match(page, practice.name)

  const wrong = await browser.postForm(stopAtLogin.finalUrl, { login: 'someone.else' })
  t.equal(wrong.status, 401, 'an unknown login is refused')
  t.match(await wrong.text(), /No patient/)

  const { callback } = await authorize(sim, practice, 'confidential', {}, browser)
  t.ok(callback.get('code'), 'the browser fills in the demo login and comes back with a code')
})

t.test('a typed login must belong to the practice of aud', async (t) => {
  const sim = await startForTest(t, { autoLogin: false })
  const [first, second] = sim.practices
  const walk = await new PatientBrowser().followUntil(authorizeRequest(sim, first, 'public').url, undefined, { login: second.login })
  t.equal(walk.response?.status, 401)
})
