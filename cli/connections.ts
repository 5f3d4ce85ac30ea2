import { STORE_SETTINGS, databaseUrlOf, loadSettings } from '../lib/config.js'
import { openStore } from '../lib/store/open.js'
import { UsageError, type Command } from './command.js'

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString())

export const connectionsList: Command = {
  name: 'connections list',
  args: '[--json]',
  summary: [
    'Lists every connection: its id, practice, status, whether it refreshes, when its access token',
    'expires, when it was last refreshed and created, and its last error. Never a token, key or patient.'
  ].join('\n'),
  settings: STORE_SETTINGS,
  async run (args, env, { out }) {
    const json = args.includes('--json')
    const unknown = args.filter((arg) => arg !== '--json')
    if (unknown.length > 0) throw new UsageError(`connections list takes only --json, got "${unknown.join(' ')}"`)
    const store = await openStore(databaseUrlOf(loadSettings(env, this.settings)))
    try {
      const connections = await store.connections.list()
      if (json) {
        out.write(`${JSON.stringify(connections.map((c) => ({
          ...c,
          accessExpiresAt: iso(c.accessExpiresAt),
          lastRefreshAt: c.lastRefreshAt === null ? null : iso(c.lastRefreshAt),
          createdAt: iso(c.createdAt),
          updatedAt: iso(c.updatedAt)
        })), null, 2)}\n`)
        return
      }
      const rows = connections.map((c) => [c.id, c.practiceId, c.status, c.refreshable ? 'yes' : 'no', iso(c.accessExpiresAt), iso(c.lastRefreshAt), iso(c.createdAt), c.lastError ?? ''])
      const header = ['ID', 'PRACTICE', 'STATUS', 'REFRESHES', 'TOKEN EXPIRES', 'LAST REFRESH', 'CREATED', 'LAST ERROR']
      const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)))
      for (const row of [header, ...rows]) out.write(`${row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()}\n`)
      out.write(`${connections.length} connection${connections.length === 1 ? '' : 's'}\n`)
    } finally {
      await store.close()
    }
  }
}
