import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { assertNoCredentialInLogs, freePort, tempDir } from './app.js'

type Test = Parameters<typeof tempDir>[0]

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface GatewayProcess {
  url: string
  child: ChildProcess
  /** Everything the process wrote, for the message of a failing test. */
  output: string[]
  /** Sends the signal and waits until the process is gone. */
  stop (signal?: NodeJS.Signals): Promise<void>
}

/**
 * The gateway as an operator runs it, in its own process: what several instances behind a load
 * balancer are. By default `node --import=tsx server.ts` (the source as it is now); `npmStart`
 * runs `npm start` itself, which compiles into dist/ first and runs the compiled server; `preload`
 * is a module loaded before the server (`--import`). `env` is
 * its whole configuration; nothing of the test process's environment leaks in but PATH (and HOME
 * for npm). `port` lets a test know the address before the start (e.g. to make it every
 * instance's PUBLIC_URL). `command` runs another start command instead (an installed package's
 * `healow-sync start`). Resolves once /ready answers 200.
 */
export async function startGatewayProcess (
  t: Test,
  env: Record<string, string>,
  { port, npmStart = false, preload, command: other }: {
    port?: number,
    npmStart?: boolean,
    preload?: string,
    command?: { file: string, args: string[], cwd: string }
  } = {}
): Promise<GatewayProcess> {
  port ??= await freePort()
  const url = `http://127.0.0.1:${port}`
  const preloads = preload === undefined ? [] : [`--import=${pathToFileURL(path.resolve(REPO_ROOT, preload)).href}`]
  const [command, args] = other ? [other.file, other.args] : npmStart ? ['npm', ['start']] : [process.execPath, ['--import=tsx', ...preloads, 'server.ts']]
  const child = spawn(command, args, {
    cwd: other?.cwd ?? REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...(npmStart ? { HOME: process.env.HOME ?? '', npm_config_update_notifier: 'false' } : {}),
      DATA_DIR: tempDir(t),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      PUBLIC_URL: url,
      SYNC_INTERVAL_HOURS: '0',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output: string[] = []
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')))
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')))
  const exited = once(child, 'exit')
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  t.teardown(async () => {
    await stop()
    assertNoCredentialInLogs({ lines: output.join('').split('\n') }, { HEALOW_CLIENT_SECRET: env.HEALOW_CLIENT_SECRET, VAULT_KEY: env.VAULT_KEY })
  })

  // npm start compiles first: several seconds, more on a busy CI machine.
  const readyWithinMs = npmStart ? 120_000 : 30_000
  const deadline = Date.now() + readyWithinMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output.join('')}`)
    const ready = await fetch(`${url}/ready`).then((res) => res.status === 200, () => false)
    if (ready) return { url, child, output, stop }
    await sleep(50)
  }
  await stop('SIGKILL')
  throw new Error(`gateway did not become ready in ${readyWithinMs / 1000} s:\n${output.join('')}`)
}
