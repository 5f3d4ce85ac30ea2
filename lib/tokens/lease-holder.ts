import { randomUUID } from 'node:crypto'

/**
 * Who holds a refresh lease on a database file shared only by processes of one machine (SQLite):
 * the process id and a boot id of this process. A lease whose holder process is gone is void at
 * once, instead of blocking that connection's refreshes until its expiry.
 */
const BOOT_ID = randomUUID()

export const THIS_PROCESS_HOLDER = `${process.pid}:${BOOT_ID}`

/** True when the holder provably no longer runs; a holder that may be alive keeps its lease. */
export function isLeaseHolderGone (holder: string): boolean {
  const [pidText, bootId] = holder.split(':')
  const pid = Number(pidText)
  // Written before holders were recorded: by a process that ran an older version, i.e. not this one.
  if (!Number.isInteger(pid) || pid <= 0 || !bootId) return true
  if (bootId === BOOT_ID) return false
  // Our own pid with another boot id: an earlier run of a process that had our pid (a restart in a
  // container, where the gateway is pid 1 every time).
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    // EPERM: the process exists (another user's); only ESRCH says it is gone.
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
