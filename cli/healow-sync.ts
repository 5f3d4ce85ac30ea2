#!/usr/bin/env node
// The operator's command line: `healow-sync <command>`; `healow-sync help` lists the commands.
import { ConfigError, processEnvironment } from '../lib/config.js'
import { UsageError, helpText, usageLine, type Command, type Output } from './command.js'
import { connectionsList } from './connections.js'
import { directoryImport, directorySearch } from './directory.js'
import { start } from './start.js'
import { vaultRekey } from './vault.js'

const COMMANDS: Command[] = [start, vaultRekey, directoryImport, directorySearch, connectionsList]

function overview (): string {
  return ['usage:', ...COMMANDS.map((command) => `  ${usageLine(command)}`), '', 'Run `healow-sync <command> --help` for what a command does and the settings it reads.'].join('\n')
}

/** Finds the command the arguments name; the rest are its own arguments. */
function resolve (argv: string[]): { command: Command | undefined, args: string[] } {
  for (const command of COMMANDS) {
    const words = command.name.split(' ')
    if (words.every((word, i) => argv[i] === word)) return { command, args: argv.slice(words.length) }
  }
  return { command: undefined, args: argv }
}

/** Runs one command line; resolves to the exit code (2 for a usage error, 1 for a failure). */
async function main (argv: string[], output: Output = { out: process.stdout, err: process.stderr }): Promise<number> {
  const { command, args } = resolve(argv)
  if (command === undefined) {
    const asked = argv.length === 0 || ['help', '--help', '-h'].includes(argv[0])
    if (!asked) output.err.write(`healow-sync: unknown command "${argv.join(' ')}"\n\n`)
    ;(asked ? output.out : output.err).write(`${overview()}\n`)
    return asked ? 0 : 2
  }
  if (args.includes('--help') || args.includes('-h')) {
    output.out.write(`${helpText(command)}\n`)
    return 0
  }
  try {
    await command.run(args, processEnvironment(), output)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      output.err.write(`healow-sync ${command.name}: ${err.message}\nusage: ${usageLine(command)}   (--help for more)\n`)
      return 2
    }
    if (err instanceof ConfigError) {
      output.err.write(`healow-sync ${command.name}: ${err.message}\nSee README.md, "Configuration", or \`healow-sync ${command.name} --help\`.\n`)
      return 2
    }
    output.err.write(`healow-sync ${command.name} failed: ${(err as Error).message}\n`)
    return 1
  }
}

// `start` keeps the process alive with its listener; every other command ends when its work does.
process.exitCode = await main(process.argv.slice(2))
