import t from 'tap'
import { copyOfTree, plant, runTestFile, type Mutant } from './helpers/mutant.js'

/**
 * The bugs that matter most, planted one at a time in a copy of the tree: each must make its test
 * fail, so the mutation score (npm run mutation, too slow for CI) cannot quietly fall where it
 * counts. Every killing test also runs once unmutated and must pass, so a failure is the mutant's.
 */
// Each killing test runs in a child process: 20–40 s in all on an idle machine, minutes on a busy one.
t.setTimeout(600_000)

const MUTANTS: Mutant[] = [
  {
    name: 'OAuth callback: the state cookie is not compared with the returned state',
    file: 'lib/tokens/oauth-state.ts',
    original: ' || cookie !== returned) return null',
    replacement: ') return null',
    test: 'test/routes/healow-oauth.test.ts',
    grep: 'refusals\na callback in another browser'
  },
  {
    name: "Mere relay: the Origin is compared with PUBLIC_URL's by prefix",
    file: 'lib/mere/relay-checks.ts',
    original: 'return seen === expected ? undefined :',
    replacement: 'return seen?.startsWith(expected) === true ? undefined :',
    test: 'test/routes/mere-proxy.test.ts',
    grep: 'near-miss origins'
  },
  {
    name: 'FHIR target grammar: a dot-only segment passes as an id (path traversal)',
    file: 'lib/fhir/target.ts',
    original: 'return FHIR_ID.test(segment) && !/^\\.+$/.test(segment)',
    replacement: 'return FHIR_ID.test(segment)',
    test: 'test/plugins/fhir-proxy-target.test.ts',
    grep: 'every crafted path'
  },
  {
    name: 'Vault cipher: the same nonce for every message',
    file: 'lib/tokens/cipher.ts',
    original: 'const iv = randomBytes(12)',
    replacement: 'const iv = Buffer.alloc(12)',
    test: 'test/plugins/vault.test.ts',
    grep: 'ciphertexts are bound'
  },
  {
    name: 'Request budget: one request more than the limit in a window',
    file: 'lib/budget/sliding-window.ts',
    original: 'inWindow >= this.#limit ?',
    replacement: 'inWindow > this.#limit ?',
    test: 'test/lib/budget/sliding-window.test.ts',
    grep: 'a limit is a whole number'
  },
  {
    name: 'Refresh: a single-use refresh token sent again after an answer that may have rotated it was lost',
    file: 'lib/tokens/refresher.ts',
    original: "if (outcome.kind === 'unknown') break",
    replacement: '',
    test: 'test/lib/tokens/refresher.test.ts',
    grep: 'an answer that may have been acted on'
  },
  {
    name: 'Connection keys: any key opens a connection that has one',
    file: 'lib/tokens/connections.ts',
    original: "!row || !expected || !timingSafeEqual(expected, Buffer.from(sha256(key), 'hex'))",
    replacement: '!row || !expected',
    test: 'test/lib/tokens/connections.test.ts'
  }
]

t.test('each killing test passes on the code as it is', async (t) => {
  const dir = copyOfTree(t.teardown.bind(t))
  const seen = new Set<string>()
  for (const mutant of MUTANTS) {
    const key = `${mutant.test}\n${mutant.grep ?? ''}`
    if (seen.has(key)) continue
    seen.add(key)
    const run = await runTestFile(dir, mutant)
    const passed = run.exitCode === 0 && run.summary !== undefined && !run.summary.fail && run.summary.pass > 0
    t.ok(passed, `${mutant.test}${mutant.grep ? ` (${mutant.grep.replace('\n', ' / ')})` : ''} passes`) || t.comment(run.output.slice(-4000))
  }
})

for (const mutant of MUTANTS) {
  t.test(mutant.name, async (t) => {
    const dir = copyOfTree(t.teardown.bind(t))
    plant(dir, mutant)
    const run = await runTestFile(dir, mutant)
    // Counted from tap's summary: a file that crashed before it (a mutant that does not even load) does not count.
    t.ok((run.summary?.fail ?? 0) > 0, `${mutant.test} fails an assertion`) || t.comment(run.output.slice(-4000))
  })
}
