// What the gateway and its directory import process (import-process.ts, import-process-child.ts) say to
// each other. A module of its own, importing no code, so that the import process loads only what it runs.
import type { SkipCounts } from './bundle.js'
import type { CollectOptions } from './collect.js'
import type { SearchIndexArrays } from './search-index.js'

/** What the gateway asks of the import process: the options of collectDirectory that cross a process boundary. */
export interface ImportRequest {
  source: string
  addressPolicy?: CollectOptions['addressPolicy']
  timeoutMs?: number
  maxBytes?: number
}

/** The gateway's go-ahead for the next message, once it has taken in the last one. */
export const NEXT_MESSAGE = 'next'

/** A practice as it crosses over: id, name and FHIR base; the OAuth URLs every practice shares are added back. */
export type PracticeTuple = [id: string, name: string, fhirBase: string]

/** The index's arrays, and the positions (in the practices sent, sorted by id) of its practices in name order. */
export type IndexArrays = SearchIndexArrays & { nameOrder: Int32Array }

/**
 * What the import process sends: that it listens (a request sent before would be lost while its modules
 * load); then the practices a batch at a time, their stored copy (storedPracticesJson), the index an array
 * at a time, and what was skipped; or why it failed. Each message waits for NEXT_MESSAGE: messages that pile
 * up in the pipe are all read in one turn of the gateway's event loop, and one message of them all (3.5 MB for
 * 17,291 practices) held it for 50 ms.
 */
export type ImportMessage =
  | { ready: true }
  | { practices: PracticeTuple[] }
  | { storedCopy: string }
  | { indexArray: { [Name in keyof IndexArrays]: [Name, IndexArrays[Name]] }[keyof IndexArrays] }
  | { done: { skipped: SkipCounts, entryCount: number } }
  | { error: string }
