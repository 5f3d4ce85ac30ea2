import type { ConnectOutcome } from '../plugins/oauth.js'

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The small page a person sees after Healow when no return_to was given. */
export function connectPage (outcome: ConnectOutcome, publicUrl: string): string {
  const body = outcome.kind === 'connected'
    ? `<h1>Connected</h1>
<p>Your records at practice ${escapeHtml(outcome.practiceId)} can now be synced.</p>
<p>Give your app this one-time code within 5 minutes; it claims the connection with
<code>POST ${escapeHtml(publicUrl)}/connections/claim</code>:</p>
<p><code id="handoff">${escapeHtml(outcome.handoff)}</code></p>`
    : `<h1>Not connected</h1>
<p>Healow did not grant access (${escapeHtml(outcome.error)}${outcome.description ? `: ${escapeHtml(outcome.description)}` : ''}).</p>
<p>Nothing was stored. You can start again from your app.</p>`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>healow-sync</title></head><body>${body}</body></html>`
}

/** The handoff code on a page made by connectPage; the page's format and its reader stay together. */
export function handoffFromPage (html: string): string | undefined {
  return /<code id="handoff">([^<]+)<\/code>/.exec(html)?.[1]
}
