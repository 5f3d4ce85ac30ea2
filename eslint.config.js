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
  },
  {
    // The gateway's requests go through lib/http-client.ts, which keeps Node's own copy of undici unloaded: read
    // before it has run, these globals would load that copy.
    files: ['app.ts', 'server.ts', 'logging.ts', 'lib/**/*.ts', 'plugins/**/*.ts', 'routes/**/*.ts', 'schemas/**/*.ts', 'cli/**/*.ts'],
    ignores: ['lib/http-client.ts'],
    rules: {
      'no-restricted-globals': ['error', ...['fetch', 'Headers', 'Request', 'Response', 'FormData', 'WebSocket', 'EventSource'].map((name) => ({
        name,
        message: 'use lib/http-client.ts (and undici\'s own classes), which keep Node\'s copy of undici unloaded'
      }))],
      // On Node 24 an ES import of node:http reads every export, WebSocket among them, and that loads the copy.
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: ['node:http', 'http'].map((name) => ({
          name,
          allowTypeImports: true,
          message: 'use process.getBuiltinModule(\'node:http\'): on Node 24 an import loads Node\'s own copy of undici'
        }))
      }]
    }
  }
]
