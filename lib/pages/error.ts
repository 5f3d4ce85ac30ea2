import { html } from '../html.js'
import { layout, type PageSite } from './layout.js'

export interface ErrorPageModel {
  statusCode: number
  /** A sentence for the person, when the code that refused knows one better than its status's. */
  personMessage?: string
  /** The API's message, for whoever runs the service: shown folded away. */
  detail: string
  requestId: string
}

const BY_STATUS: Record<number, { title: string, text: string }> = {
  400: { title: 'This link does not work', text: 'The address is incomplete or was changed on the way. Go back to the start page and choose your practice again.' },
  401: { title: 'Please sign in', text: 'This page needs you to sign in first.' },
  403: { title: 'Not allowed', text: 'You are not allowed to do this.' },
  404: { title: 'Not found', text: 'There is nothing at this address. It may have been typed wrong, or the page is gone.' },
  405: { title: 'This link does not work', text: 'This address cannot be used this way.' },
  413: { title: 'Too much at once', text: 'What was sent is too large.' },
  429: { title: 'Too many tries', text: 'There were too many tries in a short time. Wait a minute, then try again.' },
  502: { title: 'Healow is not answering', text: 'Healow did not answer properly. Try again in a few minutes.' },
  503: { title: 'Not ready yet', text: 'This service is starting up or Healow is not answering. Try again in a few minutes.' },
  504: { title: 'Healow is not answering', text: 'Healow took too long to answer. Try again in a few minutes.' }
}

function wording (statusCode: number): { title: string, text: string } {
  if (BY_STATUS[statusCode]) return BY_STATUS[statusCode]
  if (statusCode >= 500) return { title: 'Something went wrong', text: 'Something went wrong on our side. Try again later.' }
  return BY_STATUS[400]!
}

/** Every error a browser can reach, in plain words; the API's own message is kept for support. */
export function errorPage (site: PageSite, error: ErrorPageModel): string {
  const { title, text } = wording(error.statusCode)
  return layout(site, {
    title,
    main: html`<h1>${title}</h1>
<div class="card problem"><p>${error.personMessage ?? text}</p>
<p><a class="button" href="${site.base}/">Go to the start page</a></p>
<details><summary>Technical details</summary><p>Status ${error.statusCode}. ${error.detail}</p><p>Request id ${error.requestId}</p></details></div>`
  })
}
