import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository this test file belongs to. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url))

// What a test run never reads: dependencies (linked instead), VCS data, reports and build output.
const NOT_COPIED = new Set(['node_modules', '.git', 'reports', '.stryker-tmp', 'data', 'coverage', '.tap', 'dist', 'bench', 'clients'])

/** One planted bug: exact source text replaced, and the test that must notice it. */
export interface Mutant {
  name: string
  /** Repository-relative source file. */
  file: string
  /** Must occur exactly once in the file, so a refactor cannot silently disarm the mutant. */
  original: string
  replacement: string
  /** Repository-relative test file that must fail with the mutant in place. */
  test: string
  /** Top-level (then nested) test names to run, one per line, as tap's TAP_GREP takes them. */
  grep?: string
}

/** A private copy of the source tree (node_modules linked), removed in `teardown`; the working tree is untouched. */
export function copyOfTree (teardown: (fn: () => void) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'healow-sync-mutant-'))
  teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const entry of readdirSync(REPO)) {
    if (NOT_COPIED.has(entry)) continue
    cpSync(path.join(REPO, entry), path.join(dir, entry), {
      recursive: true,
      filter: (source) => !source.startsWith(path.join(REPO, 'test', 'screenshots'))
    })
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  return dir
}

/** How often `needle` occurs in `text`. */
export function occurrences (text: string, needle: string): number {
  return needle === '' ? 0 : text.split(needle).length - 1
}

/** Applies the mutant to the copy at `dir`; throws unless its original text occurs exactly once. */
export function plant (dir: string, mutant: Mutant): void {
  const file = path.join(dir, mutant.file)
  const source = readFileSync(file, 'utf8')
  const found = occurrences(source, mutant.original)
  if (found !== 1) throw new Error(`${mutant.name}: the original text occurs ${found} times in ${mutant.file}, not once: update the mutant to the code`)
  writeFileSync(file, source.replace(mutant.original, () => mutant.replacement))
}

export interface TestRun {
  /** Not to be relied on alone: a test file may end its process with 0 after a failure. */
  exitCode: number
  /** From tap's closing summary line `# { total, pass, fail, … }`; undefined when it never got there. */
  summary?: { total: number, pass: number, fail?: number, skip?: number }
  output: string
}

/** Runs one test file in `dir` as tap runs it (`node --import tsx`), no coverage, and reads its summary. */
export async function runTestFile (dir: string, mutant: Pick<Mutant, 'test' | 'grep'>): Promise<TestRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, TAP_GREP: mutant.grep ?? '' }
  // A run nested in a tap run would otherwise report to the outer one, and carry its coverage hooks.
  for (const name of Object.keys(env)) if (name.startsWith('TAP') && name !== 'TAP_GREP') delete env[name]
  if (!mutant.grep) delete env.TAP_GREP
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  return await new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', mutant.test], { cwd: dir, env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`
      const line = /^# (\{ total: .*\})$/m.exec(stdout)?.[1]
      const summary = line === undefined ? undefined : JSON.parse(line.replace(/(\w+):/g, '"$1":')) as TestRun['summary']
      const exitCode = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ exitCode, summary, output })
    })
  })
}
