// The process that reads, parses and indexes the practice directory for the gateway (import-process.ts,
// import-protocol.ts): it takes one request, sends the practices and then their index back a message at a
// time, and waits to be stopped.
import '../process-settings.js'
import { NEXT_MESSAGE, type ImportMessage, type ImportRequest, type IndexArrays } from './import-protocol.js'
import { collectDirectory } from './collect.js'
import { PracticeSearchIndex } from './search-index.js'
import { runSlices } from './slices.js'
import { storedPracticesJson } from './stored-copy.js'

// Practices per message: each message is read on the gateway's thread in one go (500: 40 KB, 0.1-0.2 ms).
const PRACTICES_PER_MESSAGE = 500

// The OAuth URLs are the gateway's to add; nothing of them needs to cross over.
const NO_OAUTH = { authorizeUrl: '', tokenUrl: '' }

/** Sends a message, and waits for the gateway to ask for the next. */
function sendInTurn (message: ImportMessage): Promise<void> {
  return new Promise((resolve) => {
    const listener = (answer: unknown): void => {
      if (answer !== NEXT_MESSAGE) return
      process.off('message', listener)
      resolve()
    }
    process.on('message', listener)
    process.send!(message)
  })
}

async function answer (request: ImportRequest): Promise<void> {
  try {
    const { practices, skipped, entryCount } = await collectDirectory(request.source, { ...request, oauth: NO_OAUTH })
    for (let from = 0; from < practices.length; from += PRACTICES_PER_MESSAGE) {
      const batch = practices.slice(from, from + PRACTICES_PER_MESSAGE)
      await sendInTurn({ practices: batch.map(({ id, name, fhirBase }) => [id, name, fhirBase]) })
    }
    // Written here, so that the gateway only hands the text to its store.
    await sendInTurn({ storedCopy: runSlices(storedPracticesJson(practices)) })
    const index = PracticeSearchIndex.of(practices)
    const position = new Map(practices.map((practice, at) => [practice, at]))
    // A loop: Int32Array.from with a mapping function is slow (see rankedNameLength in search-index.ts).
    const nameOrder = new Int32Array(practices.length)
    for (let ordinal = 0; ordinal < nameOrder.length; ordinal++) {
      nameOrder[ordinal] = position.get(index.practices[ordinal])!
    }
    const arrays: IndexArrays = { ...index.arrays(), nameOrder }
    // A copy: the keys are a view on a larger buffer, all of which would be sent.
    arrays.typoKeys = arrays.typoKeys.slice()
    for (const [name, array] of Object.entries(arrays)) {
      await sendInTurn({ indexArray: [name, array] as Extract<ImportMessage, { indexArray: unknown }>['indexArray'] })
    }
    process.send!({ done: { skipped, entryCount } } satisfies ImportMessage)
  } catch (err) {
    process.send!({ error: (err as Error).message } satisfies ImportMessage)
  }
}

// Without the gateway there is no one to answer.
process.on('disconnect', () => process.exit(0))
process.once('message', (request: ImportRequest) => { void answer(request) })
process.send!({ ready: true } satisfies ImportMessage)
