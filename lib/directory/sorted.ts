// Binary search over anything sorted that can be read by position (arrays, typed arrays, a derived key).

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
