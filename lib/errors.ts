/** An error that knows a better sentence for a person at a browser than its status's own. */
export function withPersonMessage<E extends Error> (error: E, personMessage: string): E {
  return Object.assign(error, { personMessage })
}

/** The sentence withPersonMessage attached, if any. */
export function personMessageOf (error: unknown): string | undefined {
  const message = (error as { personMessage?: unknown } | null)?.personMessage
  return typeof message === 'string' ? message : undefined
}
