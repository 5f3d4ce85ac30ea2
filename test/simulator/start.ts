import type { Test } from 'tap'
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js'

/** A simulator for one test, closed when the test ends. */
export async function startForTest (t: Test, options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(options)
  t.teardown(() => sim.close())
  return sim
}
