import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { AdminSessions, sameSecret } from '../lib/admin/session.js'
import { CursorError, describeForOperator, listForOperator, type OperatorConnection, type OperatorConnectionPage } from '../lib/admin/connections.js'
import { ReauthRequiredError, requestError } from '../lib/errors.js'
import type { ConnectionRow } from '../lib/store/types.js'

export interface Admin {
  sessions: AdminSessions
  /** Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time. */
  hasBearerToken (request: FastifyRequest): boolean
  isToken (given: string): boolean
  list (cursor: string | undefined, limit: number): Promise<OperatorConnectionPage>
  get (id: string): Promise<OperatorConnection | null>
  /** Destroys the connection's tokens and key, as the patient's own DELETE does. */
  remove (id: string): Promise<boolean>
  /** Starts the connection's sync unless one is running (here or on another instance): whether it started one. */
  syncNow (id: string): Promise<boolean>
}

declare module 'fastify' {
  interface FastifyInstance { admin: Admin }
}

/** The operator's view of every connection; registered only when ADMIN_TOKEN is set. */
export default fp(async (app) => {
  const { ADMIN_TOKEN: token, PUBLIC_URL } = app.config
  if (!token) throw new Error('the admin plugin needs ADMIN_TOKEN')
  const practiceName = (id: string) => {
    try { return app.tenantDirectory.get(id)?.name ?? null } catch { return null }
  }
  const describe = async (row: ConnectionRow) => describeForOperator(row, practiceName(row.practiceId),
    `${PUBLIC_URL}/healow/connect?${new URLSearchParams({ tenant: row.practiceId })}`,
    await app.sync.status(row.id))
  const isToken = (given: string) => sameSecret(given, token)

  app.decorate('admin', {
    sessions: new AdminSessions(app.vault.deriveKey(`admin csrf ${token}`)),
    isToken,
    hasBearerToken (request) {
      const header = request.headers.authorization
      return typeof header === 'string' && header.startsWith('Bearer ') && isToken(header.slice(7))
    },
    async list (cursor, limit) {
      try {
        return await listForOperator(app.store.connections, cursor, limit, describe)
      } catch (err) {
        if (err instanceof CursorError) throw requestError(400, err.message)
        throw err
      }
    },
    async get (id) {
      const row = await app.store.connections.get(id)
      return row ? await describe(row) : null
    },
    remove: async (id) => await app.vault.destroy(id),
    async syncNow (id) {
      if ((await app.sync.status(id)).status === 'running') return false
      try {
        await app.sync.start(id)
      } catch (err) {
        // A public client's token ran out, or the connection turned reauth_required since the page was drawn.
        if (err instanceof ReauthRequiredError) {
          throw requestError(409, 'The patient must log in at Healow again before this connection can sync: send them a reconnect link')
        }
        throw err
      }
      return true
    }
  } satisfies Admin)
}, { name: 'admin', dependencies: ['config', 'store', 'vault', 'tenant-directory', 'sync'] })
