/**
 * Replaces this process's Date with one running `offset()` ms ahead of the real clock: Date.now(),
 * new Date() and Date() move, dates built from explicit values do not. Timers and
 * performance.now() keep real time, so a test can live through months without waiting for them.
 * Answers a function that puts the real Date back.
 */
export function shiftDate (offset: () => number): () => void {
  const RealDate = Date
  function ShiftedDate (this: unknown, ...args: unknown[]): unknown {
    if (!new.target) return new RealDate(RealDate.now() + offset()).toString()
    return args.length === 0 ? new RealDate(RealDate.now() + offset()) : Reflect.construct(RealDate, args)
  }
  ShiftedDate.prototype = RealDate.prototype
  Object.assign(ShiftedDate, { now: () => RealDate.now() + offset(), parse: RealDate.parse, UTC: RealDate.UTC })
  globalThis.Date = ShiftedDate as unknown as DateConstructor
  return () => { globalThis.Date = RealDate }
}
