import type { EnvName } from '../lib/config.js'

/** A mistake in how a command was called: its message and the command's usage, exit code 2. */
export class UsageError extends Error {}

/** Where a command writes: results on `out`, progress and advice on `err`. */
export interface Output {
  out: NodeJS.WritableStream & { isTTY?: boolean }
  err: NodeJS.WritableStream & { isTTY?: boolean }
}

export interface Command {
  /** The words that name it, e.g. `vault rekey`. */
  name: string
  /** Its arguments, for the usage line. */
  args: string
  summary: string
  /** The environment variables it reads: the only ones it validates, listed in its help. */
  settings: readonly EnvName[]
  run (args: string[], env: NodeJS.ProcessEnv, output: Output): Promise<void>
}

export function usageLine (command: Command): string {
  return `healow-sync ${command.name}${command.args ? ` ${command.args}` : ''}`
}

export function helpText (command: Command): string {
  return [
    `usage: ${usageLine(command)}`,
    '',
    command.summary,
    '',
    `Reads ${command.settings.length === 0 ? 'no setting' : command.settings.join(', ')} from the environment (or .env);`,
    'README.md, "Configuration", describes each.'
  ].join('\n')
}
