import { fork } from 'node:child_process'
import { access } from 'node:fs/promises'
import { constants, setPriority } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CollectedDirectory, CollectOptions } from './collect.js'
import type { Practice } from './practice.js'
import { NEXT_MESSAGE, type ImportMessage, type ImportRequest, type IndexArrays } from './import-protocol.js'
import { PracticeSearchIndex } from './search-index.js'
import { TimeSlices } from './slices.js'
import { isHttpLocation, localFilePath } from './source.js'
import { helperProcessEnvironment } from '../config.js'

// Parsing Healow's 15 MB directory and indexing it makes tens of megabytes of garbage, and collecting
// it on the gateway's thread held requests for tens of milliseconds during every refresh. A process of
// its own downloads, parses and indexes, and hands over the practices and the index's arrays; when it
// exits, all the memory it used goes back to the system (a worker thread's stays in the gateway's C heap).

// The entry point sits beside this module, compiled (.js) or run from source (.ts).
const OWN_EXTENSION = path.extname(fileURLToPath(import.meta.url))
const CHILD_MODULE = fileURLToPath(new URL(`./import-process-child${OWN_EXTENSION}`, import.meta.url))

// The line of a dying process's output that says why: an uncaught error or V8's fatal one (out of memory).
const ERROR_LINE = /^(?:[\w.]*Error\b|FATAL ERROR)[^:]*: /

// The tsx package or one of its entry points (tsx/esm…).
const TSX = /^tsx(\/[\w./-]+)?$/

/**
 * The Node options of the import process: none of this process's, so that an operator's preload (an
 * APM agent, say, which would run without its settings there) or debugger port stays the gateway's;
 * run from source, only the TypeScript loader this process was started with.
 */

export function importProcessOptions (ownOptions: readonly string[], extension = OWN_EXTENSION): string[] {
  if (extension !== '.ts') return []
  return ownOptions.flatMap((option, at) => {
    if (/^--(import|loader|require)=/.test(option) && TSX.test(option.slice(option.indexOf('=') + 1))) return [option]
    if (/^(--import|--loader|--require|-r)$/.test(option) && TSX.test(ownOptions[at + 1] ?? '')) {
      return [option, ownOptions[at + 1]]
    }
    return []
  })
}

/**
 * Reads, parses and indexes the directory in a process of its own (the result of collectDirectory, with the
 * index). The process gets no secret of the gateway's and is stopped when `signal` aborts; if it fails or
 * dies, the error says why.
 */
export async function collectInChildProcess (
  source: string,
  options: Omit<CollectOptions, 'onProgress'> & {
    /** At the lowest CPU priority, for a refresh while a copy is in use: nothing is waiting for it. */
    lowPriority?: boolean
  }
): Promise<CollectedDirectory> {
  const { oauth, addressPolicy, timeoutMs, maxBytes, signal, lowPriority = false } = options
  signal?.throwIfAborted()
  // A file that is not there is told without a process started for it.
  if (!isHttpLocation(source)) await access(localFilePath(source))
  return await new Promise((resolve, reject) => {
    const child = fork(CHILD_MODULE, {
      execArgv: importProcessOptions(process.execArgv),
      env: helperProcessEnvironment(),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // V8's serialization, which carries the index's typed arrays as they are.
      serialization: 'advanced'
    })
    if (lowPriority) lowerPriority(child.pid)
    const practices: Practice[] = []
    const arrays: Partial<IndexArrays> = {}
    let storedCopyJson: string | undefined
    let stderr = ''
    let settled = false
    const settle = (error: Error | null, result?: CollectedDirectory): void => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', stop)
      child.kill()
      if (error === null) resolve(result!)
      else reject(error)
    }
    const stop = (): void => settle(signal!.reason as Error)
    signal?.addEventListener('abort', stop, { once: true })
    const slices = new TimeSlices()
    const askForNext = (): void => {
      void slices.pauseIfDue().then(() => { if (!settled && child.connected) child.send(NEXT_MESSAGE) })
    }
    child.stderr!.setEncoding('utf8').on('data', (text: string) => { stderr = (stderr + text).slice(-4096) })
    child.on('message', (message: ImportMessage) => {
      if ('ready' in message) {
        const request: ImportRequest = { source, addressPolicy, timeoutMs, maxBytes }
        child.send(request)
      } else if ('practices' in message) {
        // Built here with the configured OAuth URLs, so that every practice shares the same two strings.
        for (const [id, name, fhirBase] of message.practices) {
          practices.push({ id, name, fhirBase, authorizeUrl: oauth.authorizeUrl, tokenUrl: oauth.tokenUrl })
        }
        askForNext()
      } else if ('storedCopy' in message) {
        storedCopyJson = message.storedCopy
        askForNext()
      } else if ('indexArray' in message) {
        const [name, array] = message.indexArray
        if (INDEX_ARRAYS.includes(name)) Object.assign(arrays, { [name]: array })
        askForNext()
      } else if ('done' in message) {
        try {
          settle(null, { practices, ...message.done, index: indexOf(practices, arrays), storedCopyJson })
        } catch (err) {
          settle(err as Error)
        }
      } else {
        settle(new Error(message.error))
      }
    })
    child.on('error', (err) => settle(new Error(`the directory import process failed: ${err.message}`)))
    child.on('exit', (code, exitSignal) => {
      const why = exitSignal === null ? `exit code ${code}` : exitSignal
      const reason = stderr.split('\n').filter((line) => ERROR_LINE.test(line)).at(-1)
      settle(new Error(`the directory import process ended before it was done (${why})${reason ? `: ${reason}` : ''}`))
    })
  })
}

// On a machine of one or two cores the import would otherwise take turns with the gateway's thread.
// Not for a first download: until it is in, the directory is what requests wait for.
const BACKGROUND_PRIORITY = constants.priority.PRIORITY_LOW

/** Lets the gateway's own thread go first when both want the processor; best effort. */
function lowerPriority (pid: number | undefined): void {
  if (pid === undefined) return // not started: the 'error' event says why
  try {
    setPriority(pid, BACKGROUND_PRIORITY)
  } catch {} // not allowed here (some sandboxes): the import only competes more
}

const INDEX_ARRAYS: ReadonlyArray<keyof IndexArrays> = [
  'nameOrder', 'byId', 'vocabulary', 'typoKeys', 'postingStart', 'postingOrdinals', 'nameWordStart', 'nameWords', 'rankedNameLength'
]

/** The search index from the arrays sent; throws when one is missing or they do not fit the practices. */
function indexOf (practices: Practice[], arrays: Partial<IndexArrays>): PracticeSearchIndex {
  const misfit = new Error('the search index does not fit its practices')
  if (INDEX_ARRAYS.some((name) => arrays[name] === undefined)) throw misfit
  const { nameOrder, ...searchArrays } = arrays as IndexArrays
  if (nameOrder.length !== practices.length) throw misfit
  const inNameOrder = new Array<Practice>(practices.length)
  for (let ordinal = 0; ordinal < nameOrder.length; ordinal++) {
    const practice = practices[nameOrder[ordinal]]
    if (practice === undefined) throw misfit
    inNameOrder[ordinal] = practice
  }
  return PracticeSearchIndex.fromArrays(inNameOrder, searchArrays)
}
