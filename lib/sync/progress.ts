/** What one run has done so far: counts and type names only, never a patient's data. */
export interface TypeProgress {
  status: 'pending' | 'running' | 'done' | 'skipped' | 'failed'
  resources: number
  error?: string
}

export interface SyncProgress {
  requests: number
  resources: number
  /** Resources new or changed in this run (each got a change number). */
  changed: number
  deleted: number
  types: Record<string, TypeProgress>
}

export function emptyProgress (): SyncProgress {
  return { requests: 0, resources: 0, changed: 0, deleted: 0, types: {} }
}

export function parseProgress (text: string): SyncProgress {
  try {
    const parsed = JSON.parse(text) as Partial<SyncProgress>
    return { ...emptyProgress(), ...parsed, types: { ...parsed.types } }
  } catch {
    return emptyProgress()
  }
}

/** Types the practice refused or that could not be completed, for the run's result. */
export function skippedTypes (progress: SyncProgress): string[] {
  return Object.entries(progress.types).filter(([, p]) => p.status === 'skipped' || p.status === 'failed').map(([type]) => type).sort()
}
