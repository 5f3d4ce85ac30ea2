import tap from 'tap'
import { createPostgresDatabase, startEmbeddedPostgres } from './embedded-postgres.js'

type Test = { teardown: (fn: () => unknown) => void }

/**
 * The PostgreSQL server the tests of this process use, as a URL to its maintenance database.
 * With TEST_DATABASE_URL=postgres://user:password@host:port/postgres (a role allowed to
 * CREATE DATABASE) the tests use that server; otherwise one embedded PostgreSQL is started on
 * first use and stopped when the test process ends.
 */
let server: Promise<string> | undefined

export async function postgresServerUrl (): Promise<string> {
  server ??= process.env.TEST_DATABASE_URL !== undefined && process.env.TEST_DATABASE_URL !== ''
    ? Promise.resolve(process.env.TEST_DATABASE_URL)
    : startEmbeddedPostgres().then(({ url, stop }) => {
      // The root test ends after every subtest of this file; stopping there leaves no server behind.
      // embedded-postgres also stops its servers on process exit and on SIGINT/SIGTERM.
      tap.teardown(stop)
      return url
    })
  return await server
}

/** A URL to a fresh, empty database on the test server, dropped when the test ends. */
export async function freshPostgresDatabase (t: Test): Promise<string> {
  return await createPostgresDatabase(t, await postgresServerUrl())
}
