import t from 'tap'
import path from 'node:path'
import { startGateway } from '../helpers/app.js'
import { SCREENSHOTS, WatchedPage, launchChromium, noChromium } from '../helpers/browser.js'

t.test('/docs in Chromium: titled healow-sync, reads /openapi.json, no CSP violation', { skip: noChromium }, async (t) => {
  const gw = await startGateway(t)
  const browser = await launchChromium(t)
  const tab = await WatchedPage.open(t, browser, { origin: gw.url })
  const documents: string[] = []
  tab.page.on('request', (request) => { if (/json$/.test(new URL(request.url()).pathname)) documents.push(new URL(request.url()).pathname) })
  await tab.page.goto(`${gw.url}/docs`)
  await tab.page.locator('.swagger-ui .info .title').waitFor()
  t.match(await tab.page.title(), /healow-sync/)
  t.match(await tab.page.locator('.swagger-ui .info .title').textContent(), /healow-sync/)
  t.same(documents, ['/openapi.json'], 'the document it shows is /openapi.json')
  await tab.page.locator('.opblock-summary').first().click()
  await tab.page.waitForTimeout(300)
  t.same(tab.consoleErrors, [], 'no console error, no CSP violation')
  t.same(tab.dialogs, [])
  await tab.page.screenshot({ path: path.join(SCREENSHOTS, 'docs.png') })
})
