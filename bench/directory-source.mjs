// The directory's publisher for directory-search.ts, in a process of its own so that sending 15 MB does not
// take the measuring process's time. Serves the file named on the command line; IPC 'hold' (answered 'held')
// keeps new requests waiting until 'release'.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const body = readFileSync(process.argv[2])
let held = false
let waiting = []
const server = createServer((_request, response) => {
  const send = () => response.writeHead(200, { 'content-type': 'application/fhir+json' }).end(body)
  if (held) waiting.push(send)
  else send()
})
process.on('message', (message) => {
  if (message === 'hold') {
    held = true
    process.send('held')
  }
  if (message === 'release') {
    held = false
    for (const send of waiting) send()
    waiting = []
  }
})
server.listen(0, '127.0.0.1', () => process.send({ url: `http://127.0.0.1:${server.address().port}/directory.json` }))
