/**
 * Mutation testing of the code that decides who gets in and where requests go: StrykerJS plants
 * small bugs (a flipped comparison, a dropped check, an emptied string) one at a time and runs the
 * tests that cover them; a bug no test notices is a "survivor".
 *
 *   npm run mutation                  every group below, one after another
 *   npm run mutation -- cipher budget only these groups
 *
 * Each group names its source files and the test files that exercise them, so that a mutant runs
 * a few focused files, not the whole suite. Runs are incremental: a group's results are kept in
 * reports/mutation/<group>.json and a re-run tests again only the mutants whose code or tests
 * changed. Each group writes reports/mutation/<group>.html, and the scores per file go to stdout
 * as the Markdown table MUTATION.md shows. An equivalent mutant is named where it lives, with a
 * `// Stryker disable next-line <mutator>: <why>` comment, and counted as ignored.
 */
import { Stryker } from '@stryker-mutator/core'
import { mkdirSync } from 'node:fs'
import path from 'node:path'

interface MutationGroup {
  name: string
  /** What Stryker mutates. */
  mutate: string[]
  /** The tests that must notice. */
  tests: string[]
}

export const GROUPS: readonly MutationGroup[] = [
  {
    name: 'fhir-target',
    mutate: ['lib/fhir/target.ts', 'lib/fhir/upstream.ts'],
    tests: ['test/lib/fhir/target.test.ts', 'test/lib/fhir/upstream.test.ts']
  },
  {
    name: 'bundle-links',
    mutate: ['lib/fhir/bundle-links.ts', 'lib/fhir/bundle-text.ts'],
    tests: ['test/lib/fhir/bundle-text.test.ts', 'test/lib/fhir/bundle-links.test.ts', 'test/lib/fhir/bundle-links-lookalikes.test.ts']
  },
  {
    name: 'oauth',
    // The plugin wires @fastify/oauth2 in; what a callback's state must match is decided here.
    mutate: ['lib/tokens/oauth-state.ts'],
    tests: ['test/lib/tokens/oauth-state.test.ts', 'test/routes/healow-oauth.test.ts']
  },
  {
    name: 'connections',
    mutate: ['lib/tokens/connections.ts'],
    tests: ['test/lib/tokens/connections.test.ts']
  },
  {
    name: 'cipher',
    mutate: ['lib/tokens/cipher.ts', 'lib/tokens/key-file.ts'],
    tests: ['test/lib/tokens/cipher.test.ts', 'test/lib/tokens/key-file.test.ts']
  },
  {
    name: 'refresh',
    // token-request.ts sorts Healow's answers into what may be sent again: the refresh retries on it.
    mutate: ['lib/tokens/refresher.ts', 'lib/tokens/lease-holder.ts', 'lib/tokens/token-request.ts'],
    // The quick files first: a mutant they kill does not wait for the refresher's.
    tests: [
      'test/lib/tokens/lease-holder.test.ts',
      'test/lib/tokens/token-request.test.ts',
      'test/lib/tokens/refresher-defaults.test.ts',
      'test/lib/tokens/refresher.test.ts'
    ]
  },
  {
    name: 'budget',
    mutate: ['lib/budget/sliding-window.ts'],
    tests: ['test/plugins/request-budget.test.ts', 'test/lib/budget/sliding-window.test.ts']
  },
  {
    name: 'log-redaction',
    mutate: ['logging.ts'],
    tests: ['test/plugins/logging.test.ts']
  },
  {
    name: 'mere-relay',
    mutate: ['lib/mere/compat.ts', 'lib/mere/token-relay-form.ts', 'lib/mere/relay-checks.ts'],
    // Fast files first: a file that fails ends the mutant's run.
    tests: ['test/lib/mere/token-relay-form.test.ts', 'test/lib/mere/relay-checks.test.ts', 'test/lib/mere/compat.test.ts']
  },
  {
    name: 'sync-checkpoint',
    // Only the checkpointing of the engine: whether a run reads its references back (99), each step's
    // resume, paging and refusal (146-241), the page commit with its sealed checkpoint (250-301), the
    // references a resumed run reads back (310-327); and the checkpoint's seal, bound to run and step.
    mutate: [
      'lib/sync/engine.ts:99-99',
      'lib/sync/engine.ts:146-241',
      'lib/sync/engine.ts:250-301',
      'lib/sync/engine.ts:310-327',
      'lib/sync/sealing.ts:49-55',
      'lib/sync/progress.ts'
    ],
    tests: ['test/lib/sync/checkpoints.test.ts']
  }
]

type StrykerOptions = NonNullable<ConstructorParameters<typeof Stryker>[0]>

const REPORTS = 'reports/mutation'

function optionsFor (group: MutationGroup): StrykerOptions {
  return {
    testRunner: 'tap',
    plugins: ['@stryker-mutator/tap-runner'],
    tap: {
      testFiles: group.tests,
      // The test files are TypeScript, run as `npm test` runs them.
      nodeArgs: ['--import', 'tsx', '-r', '{{hookFile}}', '{{testFile}}']
    },
    mutate: group.mutate,
    // Each test file reports what it covers, and a mutant runs only the files that reach it.
    coverageAnalysis: 'perTest',
    // Two cores: one for the test, one for the servers it starts.
    concurrency: 1,
    timeoutMS: 30_000,
    incremental: true,
    incrementalFile: path.join(REPORTS, `${group.name}.json`),
    htmlReporter: { fileName: path.join(REPORTS, `${group.name}.html`) },
    reporters: ['html', 'progress'],
    tempDirName: '.stryker-tmp',
    cleanTempDir: 'always',
    ignorePatterns: ['dist', 'reports', 'coverage', '.tap', 'test/screenshots', 'data']
  }
}

interface FileScore { file: string, detected: number, undetected: number, ignored: number }

async function runGroup (group: MutationGroup): Promise<FileScore[]> {
  const results = await new Stryker(optionsFor(group)).runMutationTest()
  const byFile = new Map<string, FileScore>()
  for (const mutant of results) {
    const file = path.relative(process.cwd(), mutant.fileName)
    const score = byFile.get(file) ?? { file, detected: 0, undetected: 0, ignored: 0 }
    if (mutant.status === 'Killed' || mutant.status === 'Timeout') score.detected++
    else if (mutant.status === 'Survived' || mutant.status === 'NoCoverage') score.undetected++
    else if (mutant.status === 'Ignored') score.ignored++
    // CompileError and RuntimeError are not mutants the code could run with: not counted.
    byFile.set(file, score)
  }
  return [...byFile.values()]
}

function percent (score: FileScore): string {
  const valid = score.detected + score.undetected
  return valid === 0 ? '—' : `${(100 * score.detected / valid).toFixed(1)}%`
}

async function main (): Promise<void> {
  const asked = process.argv.slice(2)
  const unknown = asked.filter((name) => !GROUPS.some((group) => group.name === name))
  if (unknown.length > 0) {
    process.stderr.write(`unknown group: ${unknown.join(', ')}; the groups are ${GROUPS.map((g) => g.name).join(', ')}\n`)
    process.exit(2)
  }
  mkdirSync(REPORTS, { recursive: true })
  const rows: string[] = []
  for (const group of GROUPS.filter((g) => asked.length === 0 || asked.includes(g.name))) {
    for (const score of await runGroup(group)) {
      rows.push(`| ${group.name} | \`${score.file}\` | **${percent(score)}** | ${score.detected} | ${score.undetected} | ${score.ignored} |`)
    }
  }
  process.stdout.write([
    '| group | file | score | detected | survived | equivalent (ignored) |',
    '|---|---|---|---|---|---|',
    ...rows
  ].join('\n') + '\n')
}

await main()
