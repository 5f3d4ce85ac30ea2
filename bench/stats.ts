/** Nearest-rank percentile of samples sorted ascending (fraction 0.5 = median, 0.99 = p99). */
export function percentile (sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]
}

/** The median of samples in any order. */
export function median (values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5)
}
