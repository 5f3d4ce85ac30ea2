import { html } from '../html.js'
import { layout, type PageSite } from './layout.js'
import { connectHref } from './start.js'

/** What the page after Healow shows; kept in a signed cookie so that a reload shows it again. */
export type ConnectResult =
  | { kind: 'connected', practiceId: string, handoff: string, expiresAt: number }
  | { kind: 'declined', practiceId: string, error: string, description: string }

/** A practice as the page names it: by its name, the code only as a fallback. */
export interface NamedPractice { id: string, name: string | undefined }

// Healow's error codes, said plainly. Anything else gets the general sentence.
const DECLINED_REASONS: Record<string, string> = {
  access_denied: 'You chose not to allow access at Healow, or the sign-in was cancelled.',
  login_required: 'The sign-in at Healow did not finish.',
  consent_required: 'Healow needs you to allow access, and that step did not finish.',
  temporarily_unavailable: 'Healow is busy right now. Try again in a few minutes.',
  server_error: 'Healow had a problem on its side. Try again in a few minutes.'
}

const practiceLabel = (practice: NamedPractice) => practice.name ?? `the practice with code ${practice.id}`

export function connectResultPage (
  site: PageSite,
  result: ConnectResult | null,
  practice: NamedPractice | null,
  now: number
): string {
  if (result === null || practice === null) {
    return layout(site, {
      title: 'Nothing to show',
      main: html`<h1>Nothing to show here</h1>
<div class="card"><p>This page shows the result of connecting a practice, and there is no recent one in this browser. If you already copied your code into your app, you are done.</p>
<p><a class="button" href="${site.base}/">Find your practice</a></p></div>`
    })
  }
  if (result.kind === 'declined') {
    return layout(site, {
      title: 'Not connected',
      main: html`<h1>Not connected</h1>
<div class="card problem"><p>Your records at <strong>${practiceLabel(practice)}</strong> were not connected. ${DECLINED_REASONS[result.error] ?? 'Healow did not allow access.'}</p>
<p>Nothing was stored.</p>
<p><a class="button" href="${connectHref(site, practice.id)}">Try again</a> <a class="button secondary" href="${site.base}/">Choose another practice</a></p>
<details><summary>Technical details</summary><p>Healow answered: ${result.error}${result.description ? `: ${result.description}` : ''}</p></details></div>`
    })
  }
  const expired = now > result.expiresAt
  const minutes = Math.max(1, Math.ceil((result.expiresAt - now) / 60_000))
  return layout(site, {
    title: 'Connected',
    main: html`<h1>Connected to ${practiceLabel(practice)}</h1>
<div class="card success">
<p>Your records at <strong>${practiceLabel(practice)}</strong> can now be read by your app.</p>
${expired
  ? html`<p>The one-time code for your app has expired. If your app did not receive it, connect again to get a new one.</p>
<p><a class="button" href="${connectHref(site, practice.id)}">Connect again</a></p>`
  : html`<p id="handoff-label">Your one-time code. Copy it and paste it into your app within ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}; it works once.</p>
<div class="handoff"><code id="handoff">${result.handoff}</code>
<button type="button" class="secondary" data-copy-target="handoff" data-copy-status="copy-status" hidden>Copy code</button></div>
<p id="copy-status" class="status" role="status"></p>`}
<p class="hint">You can close this page when your app shows your records. Keep the code to yourself: anyone with it can connect to your records until your app uses it.</p>
</div>`
  })
}

/** The handoff code on a connect result page; the page's format and its reader stay together. */
export function handoffFromPage (page: string): string | undefined {
  return /<code id="handoff"[^>]*>([^<]+)<\/code>/.exec(page)?.[1]
}
