import t from 'tap'
import { readFileSync } from 'node:fs'
import { EnvSchema } from '../lib/config.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8')

t.test('every environment variable is documented in the README table and in .env.example', async (t) => {
  for (const name of Object.keys(EnvSchema.properties)) {
    t.match(readme, new RegExp(`^\\| \`${name}\` \\|`, 'm'), `${name} in README`)
    t.match(example, new RegExp(`^#? ?${name}=`, 'm'), `${name} in .env.example`)
  }
})

t.test('the README starts with the two commands, and .ci/run calls the test one', async (t) => {
  const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')
  const testCommand = readme.match(/^(npm install && npm test)\b/m)?.[1]
  t.ok(testCommand, 'README names the test command')
  t.ok(testCommand && ci.split('\n').includes(testCommand), '.ci/run runs it verbatim')
})
