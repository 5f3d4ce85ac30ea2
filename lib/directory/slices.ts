// Long computations written as generators that `yield` where they may pause, so that one piece of code
// serves both a caller that wants the result at once and one that must leave the event loop free meanwhile
// (building the index of 17,000 practices takes far longer than a request may wait).

/** Runs the steps to the end without pausing. */
export function runSlices<T> (steps: Generator<void, T>): T {
  let step = steps.next()
  while (step.done !== true) step = steps.next()
  return step.value
}

/** Lets other work run: `setImmediate` comes after pending I/O, so requests are answered between slices. */
export function yieldToEventLoop (): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

// How long work may hold the event loop before it lets requests in: a few milliseconds are not noticed.
const SLICE_MS = 4

/** Work in slices: `pauseIfDue()` lets the event loop run when the slice's time is up. */
export class TimeSlices {
  private sliceStarted = performance.now()

  async pauseIfDue (): Promise<void> {
    if (performance.now() - this.sliceStarted < SLICE_MS) return
    await yieldToEventLoop()
    this.sliceStarted = performance.now()
  }
}

/** Runs the steps to the end, letting the event loop run at a `yield` once the slice's time is up. */
export async function runSlicesAsync<T> (steps: Generator<void, T>, slices = new TimeSlices()): Promise<T> {
  let step = steps.next()
  while (step.done !== true) {
    await slices.pauseIfDue()
    step = steps.next()
  }
  return step.value
}
