import { html, type Html } from '../html.js'
import { layout, type PageSite } from './layout.js'

export interface PracticeListing { id: string, name: string }

export type StartSearch =
  | { kind: 'none' }
  | { kind: 'results', practices: PracticeListing[], total: number }
  /** The directory could not answer: a sentence for the person. */
  | { kind: 'problem', message: string }

export const START_PAGE_RESULTS = 10

export function connectHref (site: PageSite, practiceId: string): string {
  return `${site.base}/healow/connect?${new URLSearchParams({ tenant: practiceId })}`
}

function practiceItem (site: PageSite, practice: PracticeListing): Html {
  return html`<li><span><span class="name">${practice.name}</span><span class="code">Practice code ${practice.id}</span></span>
<a class="button" href="${connectHref(site, practice.id)}" aria-label="Connect to ${practice.name}">Connect</a></li>`
}

function searchSummary (search: StartSearch): string {
  if (search.kind === 'problem') return search.message
  if (search.kind === 'none') return ''
  if (search.total === 0) return "No practice matches. Try fewer or other words, or the name of your doctor's office."
  const shown = search.total > search.practices.length ? `; showing the first ${search.practices.length}` : ''
  return `${search.total} ${search.total === 1 ? 'practice matches' : 'practices match'}${shown}.`
}

/**
 * The start page: what this service is, and a practice search that works as a plain form (the
 * results come with the page) and, with the page's script, as you type.
 */
export function startPage (site: PageSite, query: string, search: StartSearch): string {
  const practices = search.kind === 'results' ? search.practices : []
  return layout(site, {
    title: 'Connect your health records',
    main: html`<h1>Connect your health records</h1>
<p class="lead">${site.title} lets an app you choose read your medical records from your doctor's practice, if the practice uses Healow (eClinicalWorks). You sign in at Healow; this service never sees your password.</p>
<div class="card">
<form class="search" method="get" action="${site.base}/" role="search" data-practice-search data-api="${site.base}/tenants" data-connect="${site.base}/healow/connect">
<div class="field"><label for="q">Find your practice</label>
<input id="q" name="q" type="search" value="${query}" autocomplete="off" maxlength="200" aria-describedby="q-hint"></div>
<button type="submit">Search</button>
<p id="q-hint" class="hint">Type part of its name, for example “family medicine” or the town.</p>
</form>
</div>
<p id="results-status" class="hint" role="status">${searchSummary(search)}</p>
<ul id="results" class="results">${practices.map((p) => practiceItem(site, p))}</ul>
<h2>How it works</h2>
<ol>
<li>Find your practice and press Connect.</li>
<li>Sign in at Healow with your patient portal login and allow access.</li>
<li>You come back here with a one-time code: copy it into your app.</li>
</ol>`
  })
}
