import { DirectoryUnusableError } from './files/private-directory.js'

/**
 * The one line an operator needs when start-up fails for a reason of theirs (a port taken, a data
 * directory that cannot be made), naming the setting to change; undefined for anything else,
 * which is a bug and keeps its stack trace.
 */
export function startupProblem (err: unknown, ports: Record<string, number> = {}): string | undefined {
  if (err instanceof DirectoryUnusableError) return err.message
  const e = err as NodeJS.ErrnoException & { port?: number, address?: string }
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES') {
    const setting = Object.entries(ports).find(([, port]) => port === e.port)?.[0] ?? Object.keys(ports)[0] ?? 'PORT'
    const where = `${e.address ?? ''}:${e.port ?? ''}`
    return e.code === 'EADDRINUSE'
      ? `${setting} ${e.port ?? ''} is already in use (${where}); set ${setting} to a free port, or stop what listens there`
      : `${setting} ${e.port ?? ''} may not be opened by this user (${where}); set ${setting} to a port above 1023`
  }
  return undefined
}
