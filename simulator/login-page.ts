// The patient's login page, for a person at a browser (the demo) and for
// PatientBrowser, which finds the form by its data-healow-login attribute.
import { escapeHtml } from './html.js'
import type { Practice } from './practices.js'

export function loginPage (practice: Practice, action: string, problem?: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>healow — sign in to ${escapeHtml(practice.name)}</title></head>
<body>
  <h1>Sign in to ${escapeHtml(practice.name)}</h1>
  <p>This is the Healow simulator. The demo patient's login is <code>${escapeHtml(practice.login)}</code>; no password.</p>
  ${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
  <form method="post" action="${escapeHtml(action)}" data-healow-login>
    <label>Login <input name="login" list="demo-logins" autofocus required></label>
    <datalist id="demo-logins"><option value="${escapeHtml(practice.login)}"></datalist>
    <button type="submit">Sign in and allow access</button>
  </form>
</body>
</html>`
}
