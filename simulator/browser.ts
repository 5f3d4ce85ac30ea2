// A tiny headless "patient's browser": follows redirects by hand across hosts
// (gateway → simulator → gateway), keeps cookies like a browser (per host name,
// by path), and fills in the simulator's login form.
import { fetch, Headers, type RequestInit, type Response } from 'undici'

interface StoredCookie { name: string; value: string; path: string }

export interface FollowOptions {
  /** Stop at the first URL this accepts; default: a path ending in /healow/callback. */
  stopAt?: (url: URL) => boolean
  /** What to type on the login page; default: the demo login the page offers. */
  login?: string
  /** Also request the URL that stopped the walk (through the same cookie jar). */
  requestFinal?: boolean
  maxHops?: number
}

export interface FollowResult {
  /** Where the walk stopped. */
  finalUrl: URL
  /** Requests made on the way. */
  hops: number
  /** The last response: the stop URL's when requestFinal, or the page the walk got stuck on. */
  response?: Response
}

export const isHealowCallback = (url: URL): boolean => url.pathname.endsWith('/healow/callback')

export class PatientBrowser {
  private readonly jar = new Map<string, StoredCookie[]>()

  /** The cookies this browser would send to `url`. */
  cookiesFor (url: string | URL): Record<string, string> {
    const target = new URL(url)
    return Object.fromEntries((this.jar.get(target.hostname) ?? [])
      .filter((cookie) => target.pathname.startsWith(cookie.path))
      .map((cookie) => [cookie.name, cookie.value]))
  }

  /** One request, no redirect following; cookies sent and stored. */
  async request (url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url)
    const headers = new Headers(init.headers)
    const cookie = Object.entries(this.cookiesFor(target)).map(([name, value]) => `${name}=${value}`).join('; ')
    if (cookie) headers.set('cookie', cookie)
    const response = await fetch(target, { ...init, headers, redirect: 'manual' })
    for (const header of response.headers.getSetCookie()) this.store(target, header)
    return response
  }

  get (url: string | URL): Promise<Response> {
    return this.request(url)
  }

  postForm (url: string | URL, form: Record<string, string>): Promise<Response> {
    return this.request(url, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  }

  /** Follows redirects (and the login form) from `start` until `stopAt` accepts a URL. */
  async followUntil (start: string | URL, stopAt: (url: URL) => boolean = isHealowCallback, options: Omit<FollowOptions, 'stopAt'> = {}): Promise<FollowResult> {
    let url = new URL(start)
    let hops = 0
    while (hops < (options.maxHops ?? 20)) {
      if (stopAt(url)) {
        return options.requestFinal
          ? {
              finalUrl: url,
              hops: hops + 1,
              response: await this.get(url)
            }
          : { finalUrl: url, hops }
      }
      let response = await this.get(url)
      hops++
      const form = response.status === 200 ? loginForm(await response.clone().text(), url) : undefined
      if (form) {
        response = await this.postForm(form.action, { login: options.login ?? form.demoLogin })
        hops++
      }
      const location = response.headers.get('location')
      if (response.status < 300 || response.status >= 400 || !location) return { finalUrl: url, hops, response }
      await response.body?.cancel()
      url = new URL(location, url)
    }
    throw new Error(`more than ${options.maxHops ?? 20} hops from ${start}`)
  }

  private store (url: URL, header: string): void {
    const [pair, ...attributes] = header.split(';').map((part) => part.trim())
    const split = pair.indexOf('=')
    const name = pair.slice(0, split)
    const value = pair.slice(split + 1)
    const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1)
    const path = attribute('path') ?? url.pathname.replace(/\/[^/]*$/, '/')
    const expires = attribute('expires')
    const maxAge = attribute('max-age')
    const removed = (maxAge !== undefined && Number(maxAge) <= 0) ||
      (expires !== undefined && Date.parse(expires) <= Date.now())
    const cookies = (this.jar.get(url.hostname) ?? []).filter((c) => !(c.name === name && c.path === path))
    if (!removed) cookies.push({ name, value, path })
    this.jar.set(url.hostname, cookies)
  }
}

/** The simulator's login form on a page, if there is one. */
function loginForm (html: string, page: URL): { action: URL; demoLogin: string } | undefined {
  const form = /<form[^>]*action="([^"]*)"[^>]*data-healow-login/.exec(html)
  if (!form) return undefined
  const demoLogin = /<option value="([^"]*)"/.exec(html)?.[1] ?? ''
  return { action: new URL(decodeEntities(form[1]), page), demoLogin: decodeEntities(demoLogin) }
}

function decodeEntities (text: string): string {
  return text.replace(/&#(\d+);/g, (_match, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&')
}

/** Walks a login from `startUrl` in a fresh (or the given) browser. */
export async function followLogin (
  startUrl: string | URL,
  options: FollowOptions & { browser?: PatientBrowser } = {}
): Promise<FollowResult & { browser: PatientBrowser }> {
  const browser = options.browser ?? new PatientBrowser()
  const result = await browser.followUntil(startUrl, options.stopAt, options)
  return { ...result, browser }
}
