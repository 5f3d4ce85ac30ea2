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

/** Runs the steps to the end, pausing at each `yield`. */
export async function runSlicesAsync<T> (steps: Generator<void, T>, pause = yieldToEventLoop): Promise<T> {
  let step = steps.next()
  while (step.done !== true) {
    await pause()
    step = steps.next()
  }
  return step.value
}
