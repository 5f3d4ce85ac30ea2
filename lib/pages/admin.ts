import { html, type Html } from '../html.js'
import type { OperatorConnection, OperatorConnectionPage } from '../admin/connections.js'
import { layout, type PageSite } from './layout.js'

function when (iso: string | null): Html | string {
  return iso === null ? '—' : html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`
}

function lastSyncOf (c: OperatorConnection): Html | string {
  const s = c.lastSync
  if (s === null) return 'Never'
  if (s.status === 'running') return html`<span class="badge">Running</span><span class="hint"><br>since ${when(s.startedAt)}</span>`
  return html`<span class="badge ${s.status === 'succeeded' ? 'ok' : 'problem'}">${s.status === 'succeeded' ? 'Succeeded' : 'Failed'}</span>
<span class="hint"><br>${when(s.finishedAt)}${s.error ? html`<br>${s.error}` : ''}</span>`
}

/** A connection that needs a new login cannot sync: the button stays, disabled, with the reason beside it. */
function syncNow (site: PageSite, c: OperatorConnection, csrf: string): Html {
  const blocked = c.status === 'reauth_required'
  return html`<form method="post" action="${site.base}/admin/connections/${c.id}/sync">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit" class="secondary"${blocked ? html` disabled aria-describedby="sync-blocked-${c.id}"` : ''}>Sync now
<span class="visually-hidden"> ${c.practiceName ?? c.practiceId}, patient ${c.patientId}</span></button>
${blocked ? html`<span id="sync-blocked-${c.id}" class="hint">Needs the patient's new login first</span>` : ''}</form>`
}

const practiceOf = (c: OperatorConnection) => html`${c.practiceName ?? 'Not in the directory'}<span class="hint"><br>Code ${c.practiceId}</span>`

function signOut (site: PageSite, csrf: string): Html {
  return html`<form method="post" action="${site.base}/admin/logout"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="secondary">Sign out</button></form>`
}

export function adminLoginPage (site: PageSite, problem?: string): string {
  return layout(site, {
    title: 'Operator sign-in',
    main: html`<h1>Operator sign-in</h1>
<div class="card${problem ? ' problem' : ''}">
${problem ? html`<p role="alert">${problem}</p>` : ''}
<form method="post" action="${site.base}/admin/login">
<p><label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required aria-describedby="token-hint"></p>
<p id="token-hint" class="hint">The ADMIN_TOKEN this service was started with.</p>
<p><button type="submit">Sign in</button></p>
</form></div>`
  })
}

/** Every connection, newest first, with what an operator can do about each. */
export function adminConnectionsPage (
  site: PageSite,
  page: OperatorConnectionPage,
  csrf: string,
  notice?: string
): string {
  const rows = page.items.map((c) => html`<tr>
<td>${practiceOf(c)}</td>
<td>${c.patientId}</td>
<td><span class="badge ${c.status === 'active' ? 'ok' : 'problem'}">${c.status === 'active' ? 'Active' : 'Needs new login'}</span>${c.claimed ? '' : html`<span class="hint"><br>Not claimed by an app</span>`}</td>
<td>${when(c.createdAt)}</td>
<td>${when(c.lastRefreshAt)}</td>
<td>${lastSyncOf(c)}</td>
<td>${c.lastError ?? '—'}</td>
<td><div class="actions">
${syncNow(site, c, csrf)}
<a class="button secondary" href="${site.base}/admin/connections/${c.id}/reconnect">Reconnect link<span class="visually-hidden"> for ${c.practiceName ?? c.practiceId}, patient ${c.patientId}</span></a>
<a class="button secondary" href="${site.base}/admin/connections/${c.id}/delete">Delete<span class="visually-hidden"> ${c.practiceName ?? c.practiceId}, patient ${c.patientId}</span></a>
</div></td>
</tr>`)
  return layout(site, {
    title: 'Connections',
    wide: true,
    nav: signOut(site, csrf),
    main: html`<h1>Connections</h1>
${notice ? html`<p class="status" role="status">${notice}</p>` : ''}
<p class="hint">${page.total} ${page.total === 1 ? 'connection' : 'connections'}, newest first. Status shows the last token refresh, Last sync the latest sync of records; the same list is at GET /admin/connections for scripts.</p>
${page.items.length === 0
  ? html`<div class="card"><p>No patient has connected yet.</p></div>`
  : html`<div class="table-wrap"><table>
<caption class="visually-hidden">Connections</caption>
<thead><tr><th scope="col">Practice</th><th scope="col">Patient</th><th scope="col">Status</th><th scope="col">Connected</th><th scope="col">Last refresh</th><th scope="col">Last sync</th><th scope="col">Last error</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`}
<nav class="pager" aria-label="Pages">
${page.nextCursor ? html`<a href="${site.base}/admin?${new URLSearchParams({ cursor: page.nextCursor }).toString()}">Older connections</a>` : ''}
</nav>`
  })
}

export function adminReconnectPage (site: PageSite, c: OperatorConnection, csrf: string): string {
  return layout(site, {
    title: 'Reconnect link',
    nav: signOut(site, csrf),
    main: html`<h1>Reconnect link</h1>
<div class="card">
<p>Give this link to patient <strong>${c.patientId}</strong> of <strong>${c.practiceName ?? c.practiceId}</strong>. It opens the sign-in at Healow for that practice; afterwards the patient gets a new one-time code for their app.</p>
<div class="handoff"><code id="reconnect-link">${c.reconnectUrl}</code>
<button type="button" class="secondary" data-copy-target="reconnect-link" data-copy-status="copy-status" hidden>Copy link</button></div>
<p id="copy-status" class="status" role="status"></p>
<p><a href="${site.base}/admin">Back to the connections</a></p>
</div>`
  })
}

export function adminDeletePage (site: PageSite, c: OperatorConnection, csrf: string): string {
  return layout(site, {
    title: 'Delete connection',
    nav: signOut(site, csrf),
    main: html`<h1>Delete this connection?</h1>
<div class="card problem">
<p>Patient <strong>${c.patientId}</strong> of <strong>${c.practiceName ?? c.practiceId}</strong>. Deleting destroys the stored tokens and the app's key: the app stops receiving records until the patient connects again. This cannot be undone.</p>
<form method="post" action="${site.base}/admin/connections/${c.id}/delete">
<input type="hidden" name="csrf" value="${csrf}">
<p><button type="submit" class="danger">Delete connection</button> <a class="button secondary" href="${site.base}/admin">Keep it</a></p>
</form></div>`
  })
}
