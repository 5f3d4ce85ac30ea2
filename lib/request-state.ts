import { GatewayError } from './errors.js'

/**
 * What one step of a request's handling leaves for a later step, keyed by the request object:
 * typed, gone with the request, and never a nullable field every reader has to assert.
 */
export class RequestState<T> {
  readonly #values = new WeakMap<object, T>()

  /** `what` names the state in the error a missing value raises. */
  constructor (private readonly what: string) {}

  set (request: object, value: T): void {
    this.#values.set(request, value)
  }

  find (request: object): T | undefined {
    return this.#values.get(request)
  }

  /** The value an earlier step set; its absence means the steps were wired out of order, a bug of ours. */
  get (request: object): T {
    const value = this.#values.get(request)
    if (value === undefined) throw new GatewayError(500, 'internal_error', `${this.what} was not set for this request`)
    return value
  }
}
