import { EventEmitter } from 'node:events'

/**
 * What happened to a connection, as the parts that react to it (webhooks, metrics, live status)
 * hear it. Ids and counts only: an event never carries a patient's data or a credential.
 */
export type GatewayEvent =
  | { type: 'sync.succeeded', connectionId: string, practiceId: string, syncId: string, at: number, requests: number, resources: number, skippedTypes: string[] }
  | { type: 'sync.failed', connectionId: string, practiceId: string, syncId: string, at: number, code: string }
  | { type: 'connection.reauth_required', connectionId: string, practiceId: string, at: number }

export type GatewayEventType = GatewayEvent['type']

/**
 * In-process publish and subscribe; a listener that throws is logged by the caller's `onError`,
 * never the publisher's problem.
 */
export class GatewayEvents {
  readonly #emitter = new EventEmitter()

  constructor (private readonly onError: (err: unknown, event: GatewayEvent) => void = () => {}) {
    this.#emitter.setMaxListeners(50)
  }

  publish (event: GatewayEvent): void {
    for (const listener of this.#emitter.listeners('event')) {
      try {
        const result = (listener as (e: GatewayEvent) => unknown)(event)
        if (result instanceof Promise) result.catch((err: unknown) => this.onError(err, event))
      } catch (err) {
        this.onError(err, event)
      }
    }
  }

  /** Returns the function that unsubscribes. */
  subscribe (listener: (event: GatewayEvent) => unknown): () => void {
    this.#emitter.on('event', listener)
    return () => { this.#emitter.off('event', listener) }
  }
}
