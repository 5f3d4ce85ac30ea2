// Binary search over anything sorted that can be read by position (arrays, typed arrays, a derived key).

/** Code-unit order, the order of `<` (localeCompare would depend on the machine's locale). */
export function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The first index in [0, count) at which `isBefore` turns false; `isBefore` must be true, then false. */
export function partitionPoint (count: number, isBefore: (index: number) => boolean): number {
  let low = 0
  let high = count
  while (low < high) {
    const middle = (low + high) >>> 1
    if (isBefore(middle)) low = middle + 1
    else high = middle
  }
  return low
}

// Runs sorted natively before they are merged: long enough to be cheap, short enough to take well under a slice.
const RUN_LENGTH = 1024

/**
 * A stable sort of `items` (in place, also returned) that `yield`s between passes, so that sorting tens of
 * thousands of names does not hold the event loop (see runSlicesAsync): runs sorted natively, then merged.
 */
export function * sortInSlices<T> (items: T[], compare: (a: T, b: T) => number): Generator<void, T[]> {
  const count = items.length
  for (let from = 0; from < count; from += RUN_LENGTH) {
    const run = items.slice(from, from + RUN_LENGTH).sort(compare)
    for (let i = 0; i < run.length; i++) items[from + i] = run[i]
    yield
  }
  let source = items
  let target = new Array<T>(count)
  for (let width = RUN_LENGTH; width < count; width *= 2) {
    for (let from = 0; from < count; from += 2 * width) {
      const middle = Math.min(from + width, count)
      const end = Math.min(from + 2 * width, count)
      let left = from
      let right = middle
      for (let at = from; at < end; at++) {
        // Ties take the left one first: the order of equal items is kept.
        target[at] = right >= end || (left < middle && compare(source[left], source[right]) <= 0)
          ? source[left++]
          : source[right++]
      }
    }
    ;[source, target] = [target, source]
    yield
  }
  if (source !== items) for (let i = 0; i < count; i++) items[i] = source[i]
  return items
}
