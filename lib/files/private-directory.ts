import { mkdirSync, statSync } from 'node:fs'
import path from 'node:path'

/** A directory the gateway needs cannot be had; the message is one line naming the setting. */
export class DirectoryUnusableError extends Error {}

// Only the service's user may read the vault and its key.
export const PRIVATE_DIRECTORY_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600

/**
 * Creates `dir` and its missing parents with mode 0700, one level at a time. Node's own
 * `mkdirSync(…, { recursive: true })` retries forever on some file systems (under /proc it spins
 * at thousands of calls a second), and its errors arrive as stack traces; here the first refusal
 * ends it with one line that names `setting`.
 */
export function ensurePrivateDirectory (dir: string, setting: string): void {
  const target = path.resolve(dir)
  const missing: string[] = []
  let existing = target
  for (;;) {
    let stats
    try {
      stats = statSync(existing)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // ENOTDIR: somewhere above is a file; walking up finds it and says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new DirectoryUnusableError(`${setting} "${dir}" cannot be used: ${existing} is not accessible (${code})`)
      missing.unshift(existing)
      existing = path.dirname(existing)
      continue
    }
    if (!stats.isDirectory()) throw new DirectoryUnusableError(`${setting} "${dir}" cannot be created: ${existing} is a file, not a directory`)
    break
  }
  for (const level of missing) {
    try {
      mkdirSync(level, { mode: PRIVATE_DIRECTORY_MODE })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST' && statSync(level).isDirectory()) continue
      throw new DirectoryUnusableError(`${setting} "${dir}" cannot be created: mkdir ${level} failed (${code})`)
    }
  }
}
