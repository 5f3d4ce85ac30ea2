// Preloaded into a process (`--import`) by test/lib/http-client.test.ts: as the process exits, it writes
// to stderr whether Node's own copy of undici (the one behind the global fetch) was ever loaded.
import { writeSync } from 'node:fs'

const NODE_UNDICI = 'NativeModule internal/deps/undici/undici'

// Node's list of the built-in modules it has loaded; not in its type declarations.
const { moduleLoadList } = process as unknown as { moduleLoadList: string[] }

process.on('exit', () => {
  writeSync(2, `\nnode-undici-loaded: ${moduleLoadList.includes(NODE_UNDICI)}\n`)
})
