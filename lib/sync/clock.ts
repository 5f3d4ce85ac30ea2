import { setTimeout as sleep } from 'node:timers/promises'

/** Time as the sync sees it: tests and benchmarks drive schedules and waits through their own. */
export interface Clock {
  now (): number
  sleep (ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => { await sleep(ms, undefined, { signal }) }
}
