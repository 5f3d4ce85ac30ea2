import type { Store } from './types.js'

// PostgreSQL arrives with issue 7; until then DATABASE_URL=postgres://… is refused clearly.
export async function openPostgresStore (_url: string): Promise<Store> {
  throw new Error('PostgreSQL storage is not available in this version; use sqlite:<path> (the default)')
}
