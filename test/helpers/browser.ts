import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'

/** Debian's chromium; .ci/run installs it. */
export const CHROMIUM = '/usr/bin/chromium'
/** tap's `skip` option for browser tests: a reason where Chromium is missing, false otherwise. */
export const noChromium: string | false = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium): browser tests skipped`

export const SCREENSHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url))
const AXE_SOURCE = readFileSync(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8')
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']

export async function launchChromium (t: Test): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

/**
 * A browser tab that remembers what a person would never want to see: console errors (CSP
 * violations among them), uncaught page errors and dialogs (an injected alert()).
 */
export class WatchedPage {
  readonly consoleErrors: string[] = []
  readonly dialogs: string[] = []

  private constructor (readonly context: BrowserContext, readonly page: Page, origin: string | undefined) {
    // Only our pages count: Healow's (the simulator's) login page is not ours to judge.
    const ours = () => origin === undefined || page.url().startsWith(origin)
    page.on('console', (message) => { if (message.type() === 'error' && ours()) this.consoleErrors.push(`${page.url()}: ${message.text()}`) })
    page.on('pageerror', (error) => { if (ours()) this.consoleErrors.push(`${page.url()}: ${error.message}`) })
    page.on('dialog', (dialog) => { this.dialogs.push(dialog.message()); void dialog.dismiss() })
  }

  static async open (t: Test, browser: Browser, options: { origin?: string, colorScheme?: 'light' | 'dark', viewport?: { width: number, height: number } } = {}): Promise<WatchedPage> {
    const context = await browser.newContext({ colorScheme: options.colorScheme ?? 'light', viewport: options.viewport ?? { width: 1024, height: 720 } })
    t.teardown(() => context.close())
    return new WatchedPage(context, await context.newPage(), options.origin)
  }

  /**
   * The checks every page must pass: no axe-core WCAG 2.1 A/AA violation, no console error, no
   * dialog; and a screenshot under test/screenshots/ for a person to look at.
   */
  async check (t: Test, name: string): Promise<void> {
    await this.page.evaluate(AXE_SOURCE)
    const violations = await this.page.evaluate(async (tags) => {
      const axe = (window as unknown as {
        axe: {
          run: (
            context: Document,
            options: object
          ) => Promise<{
            violations: Array<{
              id: string,
              help: string,
              nodes: Array<{ target: unknown }>
            }>
          }>
        }
      }).axe
      const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } })
      return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`)
    }, WCAG_21_AA)
    t.same(violations, [], `${name}: no WCAG 2.1 AA violation`)
    t.same(this.consoleErrors, [], `${name}: no console error`)
    t.same(this.dialogs, [], `${name}: no dialog`)
    this.consoleErrors.length = 0
    await this.page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true })
  }
}
