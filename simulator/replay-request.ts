import { IncomingMessage } from 'node:http'

/**
 * A copy of a request whose body was already read, readable again from `body`.
 * oidc-provider parses bodies itself and must get an unread stream; the simulator
 * reads the token request first to know which practice it counts against.
 */
export function replayRequest (original: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(original.socket)
  copy.method = original.method
  copy.url = original.url
  copy.headers = original.headers
  copy.httpVersion = original.httpVersion
  // Not "complete", the stream would count as aborted once read and destroy the socket.
  copy.complete = true
  // Everything is pushed below: never ask the socket for more.
  copy._read = () => {}
  copy.push(body)
  copy.push(null)
  return copy
}
