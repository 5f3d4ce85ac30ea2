import { readdirSync, readFileSync } from 'node:fs'

/** What /proc says of a running process (Linux). */
export interface ProcessInfo {
  pid: number
  parent: number
  /** Its niceness: 0 by default, 19 at the lowest priority. */
  nice: number
  commandLine: string
  environment: string[]
}

function processInfo (pid: number): ProcessInfo | undefined {
  try {
    // The fields after the command name, which is in brackets and may hold spaces: state, ppid, …, nice (19th).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')
    return {
      pid,
      parent: Number(fields[1]),
      nice: Number(fields[16]),
      commandLine: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(),
      environment: readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
    }
  } catch {
    return undefined // ended while being read, or not ours to read
  }
}

/** The running processes that `parent` started, as /proc lists them. */
export function childProcessesOf (parent: number): ProcessInfo[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name))
    .map((name) => processInfo(Number(name)))
    .filter((info): info is ProcessInfo => info !== undefined && info.parent === parent)
}
