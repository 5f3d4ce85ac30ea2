import t from 'tap'
import { readFileSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { OPENAPI_PATH, generateOpenApiYaml } from '../scripts/openapi.js'
import { ContractDocument } from './contract/document.js'

t.test('the committed openapi.yaml is what the code generates', async (t) => {
  const generated = await generateOpenApiYaml()
  const committed = readFileSync(OPENAPI_PATH, 'utf8')
  t.ok(generated === committed, 'openapi.yaml is stale: run `npm run openapi` and commit the result')
})

t.test('the document passes redocly lint with the recommended rules', async (t) => {
  const run = promisify(execFile)
  const result = await run('npx', ['--no-install', 'redocly', 'lint', '--extends=recommended', '--format=json', OPENAPI_PATH], { timeout: 90_000 })
    .then((r) => ({ code: 0, out: r.stdout }), (e) => ({ code: e.code as number, out: String(e.stdout) }))
  const report = JSON.parse(result.out) as {
    totals: { errors: number, warnings: number },
    problems: Array<{ ruleId: string, message: string }>
  }
  const problems = report.problems.map((p) => `${p.ruleId}: ${p.message}`).join('\n')
  t.equal(result.code, 0, problems)
  t.same(report.totals, { ...report.totals, errors: 0, warnings: 0 }, problems || 'no errors, no warnings')
})

t.test('every operation shows an example of its request and its success answer, each valid against its schema', async (t) => {
  t.same(new ContractDocument().exampleProblems(), [])
})

t.test('every answer of every operation declares X-Request-Id', async (t) => {
  const { document } = new ContractDocument()
  const missing = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).flatMap(([method, operation]) =>
      Object.entries(operation!.responses)
        .filter(([, response]) => response.headers?.['X-Request-Id'] === undefined)
        .map(([status]) => `${method} ${path} ${status}`)))
  t.same(missing, [])
  t.match(document.components.headers?.['X-Request-Id'], { required: true, schema: { type: 'string' } })
})
