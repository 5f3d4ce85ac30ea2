import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type OutgoingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { DirectoryCollector, parseDirectoryBundle, type ParsedDirectory } from '../../../lib/directory/bundle.js'
import { readDirectoryEntries, type ReadSourceOptions } from '../../../lib/directory/source.js'
import { BAD_ENTRIES_PER_REASON, HEALOW_2026_PRACTICES, healowSizedBundle } from '../../helpers/synthetic-bundle.js'
import { tempDir } from '../../helpers/app.js'

type Test = Parameters<typeof tempDir>[0]

const OAUTH = {
  authorizeUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/authorize',
  tokenUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/token'
}
const REAL_DIRECTORY = new URL('../../../../shared/fixtures/healow-endpoints-bundle.json', import.meta.url)

async function streamed (location: string, options: ReadSourceOptions = {}): Promise<ParsedDirectory> {
  const collector = new DirectoryCollector(OAUTH)
  await readDirectoryEntries(location, (entry) => collector.add(entry), options)
  return collector.finish()
}

/** A loopback server that sends `body` in pieces of `pieceLength` bytes, then does what `end` says. */
async function serveBytes (t: Test, body: Buffer, { pieceLength = 65_536, headers = {}, end = 'finish' }: {
  pieceLength?: number
  headers?: OutgoingHttpHeaders
  end?: 'finish' | 'reset' | 'stall'
} = {}): Promise<string> {
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/fhir+json', ...headers })
    for (let at = 0; at < body.length; at += pieceLength) response.write(body.subarray(at, at + pieceLength))
    if (end === 'finish') response.end()
    else if (end === 'reset') setTimeout(() => response.destroy(), 20)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/directory.json`
}

const text = JSON.stringify(healowSizedBundle())
const expected = parseDirectoryBundle(JSON.parse(text), OAUTH)

t.test('the streamed import of 17,291 practices gives what parsing the whole document gives', async (t) => {
  t.equal(expected.practices.length, HEALOW_2026_PRACTICES)
  t.equal(Object.keys(expected.skipped).length, 10, 'every skip reason occurs')
  t.equal(expected.skipped['no id'], BAD_ENTRIES_PER_REASON)
  t.ok(text.length > 14_000_000 && text.length < 17_000_000, `about 15 MB like Healow's list (${text.length} bytes)`)

  const file = path.join(tempDir(t), 'directory.json')
  writeFileSync(file, text)
  t.same(await streamed(file), expected, 'from a file')
  t.same(await streamed(`file://${file}`), expected, 'from a file: URL')
  t.same(await streamed(await serveBytes(t, Buffer.from(text))), expected, 'over HTTP')
})

t.test('characters cut between two pieces of bytes arrive whole', async (t) => {
  const name = 'Hospital General Castañer — 東京 Ñandú'
  const bundle = { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Organization', id: 'ACCENT', name } }] }
  const bytes = Buffer.from(JSON.stringify(bundle))
  for (const pieceLength of [1, 2, 3, 5]) {
    const entries: unknown[] = []
    await readDirectoryEntries(await serveBytes(t, bytes, { pieceLength }), (entry) => entries.push(entry))
    t.same(entries, bundle.entry, `pieces of ${pieceLength} bytes`)
  }
})

t.test('the real Healow directory streams into the same practices', {
  skip: existsSync(REAL_DIRECTORY) ? false : 'no ../shared/fixtures (fresh clone)'
}, async (t) => {
  const real = parseDirectoryBundle(JSON.parse(readFileSync(REAL_DIRECTORY, 'utf8')), OAUTH)
  t.equal(real.practices.length, 6919)
  t.same(await streamed(REAL_DIRECTORY.pathname), real)
})

t.test('a document over the size limit is refused, whether or not it says its length', async (t) => {
  const bytes = Buffer.from(text)
  const maxBytes = 1_000_000
  const file = path.join(tempDir(t), 'directory.json')
  writeFileSync(file, bytes)
  await t.rejects(streamed(file, { maxBytes }), { message: `the directory file ${file} is more than the 1000000 bytes accepted` })
  const announced = await serveBytes(t, bytes, { headers: { 'content-length': bytes.length } })
  await t.rejects(streamed(announced, { maxBytes }), {
    message: `the directory at ${announced} is ${bytes.length} bytes, more than the 1000000 accepted`
  })
  const chunked = await serveBytes(t, bytes)
  await t.rejects(streamed(chunked, { maxBytes }), { message: `the directory at ${chunked} is more than the 1000000 bytes accepted` })
  t.same(await streamed(chunked, { maxBytes: bytes.length }), expected, 'exactly the limit is accepted')
})

t.test('a download cut short or too slow is refused', async (t) => {
  const half = Buffer.from(text.slice(0, text.length / 2))
  await t.rejects(streamed(await serveBytes(t, half)), { name: 'DirectoryFormatError', message: 'the directory is not valid JSON: it ends early' })
  await t.rejects(streamed(await serveBytes(t, half, { end: 'reset' })), /terminated|other side closed|ECONNRESET/)
  const started = Date.now()
  await t.rejects(streamed(await serveBytes(t, half, { end: 'stall' }), { timeoutMs: 300 }), /aborted|timeout/i)
  t.ok(Date.now() - started < 5_000, 'gave up after the timeout')
})
