import { html, type Html } from '../html.js'

/** What every page needs from the configuration. */
export interface PageSite {
  /** SITE_TITLE. */
  title: string
  /** PUBLIC_URL's path without a trailing slash ('' at the root): every link starts with it. */
  base: string
}

export interface PageContent {
  /** The page's own title; the tab shows it before the site's. */
  title: string
  main: Html
  /** Links at the top right (the operator view's sign-out). */
  nav?: Html
  /** The operator table wants the whole width. */
  wide?: boolean
}

export const ASSET_PATHS = { style: '/assets/style.css', script: '/assets/app.js', icon: '/favicon.svg' } as const

/** The frame of every page: one stylesheet, one deferred script, no inline style or script. */
export function layout (site: PageSite, { title, main, nav, wide = false }: PageContent): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>${title} · ${site.title}</title>
<link rel="icon" href="${site.base}${ASSET_PATHS.icon}" type="image/svg+xml">
<link rel="stylesheet" href="${site.base}${ASSET_PATHS.style}">
<script src="${site.base}${ASSET_PATHS.script}" defer></script>
</head>
<body${wide ? html` class="wide"` : ''}>
<a class="skip" href="#main">Skip to content</a>
<header class="site"><div class="bar">
<a class="brand" href="${site.base}/"><img src="${site.base}${ASSET_PATHS.icon}" alt="">${site.title}</a>
${nav ? html`<nav aria-label="Account">${nav}</nav>` : ''}
</div></header>
<main id="main">
${main}
</main>
<footer class="site"><p>${site.title} connects your health records at practices that use Healow (eClinicalWorks) to the apps you choose.</p></footer>
</body>
</html>
`.value
}
