import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', 'clients/**', '.tap/**', 'test/screenshots/**', 'reports/**', '.stryker-tmp/**'] }),
  {
    rules: {
      '@stylistic/comma-dangle': ['error', 'never'],
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
      // `void promise` marks a promise deliberately left to run (timers, hooks); it is not an expression's value.
      'no-void': ['error', { allowAsStatement: true }],
      // Refusing control characters in URLs, ids and JSON is a security check, written as a regex on purpose.
      'no-control-regex': 'off'
    }
  }
]
