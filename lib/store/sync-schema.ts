/**
 * The sync's tables, one text for both databases (a migration of each store); every row goes
 * with its connection. Times and change numbers are BIGINT on PostgreSQL, INTEGER (64-bit) on SQLite.
 */
export function syncTables ({ bigint, boolean, no }: { bigint: string, boolean: string, no: string }): string {
  return `
  CREATE TABLE sync_records (
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    id_digest TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    ref TEXT NOT NULL,
    version TEXT,
    body TEXT,
    deleted ${boolean} NOT NULL DEFAULT ${no},
    seq ${bigint} NOT NULL,
    seen_run TEXT NOT NULL,
    PRIMARY KEY (connection_id, id_digest)
  );
  CREATE UNIQUE INDEX sync_records_seq ON sync_records (connection_id, seq);
  CREATE TABLE sync_sequences (
    connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    last_seq ${bigint} NOT NULL
  );
  CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    resumable ${boolean} NOT NULL DEFAULT ${no},
    started_at ${bigint} NOT NULL,
    finished_at ${bigint},
    progress TEXT NOT NULL,
    error TEXT
  );
  CREATE INDEX sync_runs_connection ON sync_runs (connection_id, started_at);
  CREATE TABLE sync_checkpoints (
    run_id TEXT NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
  );
  CREATE TABLE sync_leases (
    connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    expires_at ${bigint} NOT NULL
  );
  CREATE TABLE sync_schedules (
    connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    next_at ${bigint} NOT NULL
  );`
}
