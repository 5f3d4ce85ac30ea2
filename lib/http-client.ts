// The client of the gateway's own requests (tokens, FHIR reads, the directory download, SMART discovery):
// the npm undici's fetch, the FHIR proxy's client, and the only copy of undici in the process.
//
// Node keeps a copy of undici of its own behind the global fetch API, loaded the first time one of its globals
// is touched. The npm undici touches `globalThis.Headers` as it loads, which alone loaded Node's copy beside it:
// two HTTP clients in memory. So `Headers` is deleted first (on Node 24, reading or redefining it loads Node's
// copy; deleting does not), and then the npm copy's fetch API is installed as the globals, so that nothing
// that reads them later loads Node's copy either. server.ts imports this module before anything else that
// loads undici. On Node 24 an ES import of node:http loads Node's copy too (it reads http.WebSocket): the
// gateway's modules take it from process.getBuiltinModule (lint keeps it so).
import { createRequire } from 'node:module'
import type * as Undici from 'undici'

function loadUndiciAlone (): typeof Undici {
  Reflect.deleteProperty(globalThis, 'Headers')
  const undici = createRequire(import.meta.url)('undici') as typeof Undici
  undici.install()
  return undici
}

export const { fetch } = loadUndiciAlone()
export type { Response } from 'undici'
