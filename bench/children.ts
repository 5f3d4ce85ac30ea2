// What the benchmarks do to their own processes: compile the gateway, and start a helper process
// (a stand-in for Healow, the bare proxy) that reports where it listens once it does.
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'

/** `npm run build`, so that the gateway runs compiled as `npm start` runs it; NO_BUILD=1 keeps dist/ as it is. */
export function buildDist (): void {
  if (!process.env.NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { stdio: ['ignore', process.stderr, 'inherit'] })
}

/** A child process that reports its address over IPC once it listens; refused if it exits first. */
export function startChild<Ready> (
  module: string, args: string[], execArgv: string[]
): Promise<{ child: ChildProcess, ready: Ready }> {
  const child = fork(module, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (ready) => resolve({ child, ready: ready as Ready }))
    child.once('exit', (code) => reject(new Error(`${path.basename(module)} ${args.join(' ')} exited with ${code}`)))
  })
}
