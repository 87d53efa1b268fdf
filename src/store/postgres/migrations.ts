/**
 * @module The PostgreSQL state database's migrations (the tables of every state-store port).
 *
 * Index i migrates from schema version i to i+1; `openPostgres` runs the missing ones in order,
 * one transaction each. Append only: never edit a migration that has shipped.
 *
 * Conventions: times are ms since the epoch (BIGINT), as in the SQLite state database; JSON
 * documents are TEXT holding `JSON.stringify` output, so they come back exactly as written (jsonb
 * would reorder keys and reject \u0000); text columns that are sorted or compared as names use
 * COLLATE "C" so ordering is by code point, as in SQLite, whatever the database's collation.
 * `offset` is a reserved word in PostgreSQL, so log offsets are `log_offset`.
 */

export const POSTGRES_STATE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE schemas (
     type TEXT COLLATE "C" NOT NULL,
     version BIGINT NOT NULL CHECK (version > 0),
     -- The mode belongs to the type: every row of a type carries the same mode.
     mode TEXT NOT NULL CHECK (mode IN ('enforce', 'warn', 'off')),
     schema TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     PRIMARY KEY (type, version)
   );
   CREATE TABLE tokens (
     id TEXT COLLATE "C" PRIMARY KEY,
     name TEXT NOT NULL,
     scopes TEXT NOT NULL,
     hash TEXT NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE INDEX tokens_created ON tokens (created_at, id);

   CREATE TABLE rules (
     name TEXT COLLATE "C" PRIMARY KEY,
     manifest TEXT NOT NULL,
     generation INTEGER NOT NULL,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE stacks (LIKE rules INCLUDING ALL);
   CREATE TABLE policies (LIKE rules INCLUDING ALL);
   CREATE TABLE workflows (LIKE rules INCLUDING ALL);

   CREATE TABLE deliveries (
     source TEXT COLLATE "C" NOT NULL,
     id TEXT COLLATE "C" NOT NULL,
     rule TEXT COLLATE "C" NOT NULL,
     target TEXT COLLATE "C" NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
     log_offset BIGINT NOT NULL,
     attempts INTEGER NOT NULL,
     next_at BIGINT,
     last_error TEXT,
     replayed BOOLEAN NOT NULL DEFAULT false,
     updated_at BIGINT NOT NULL,
     PRIMARY KEY (source, id, rule, target)
   );
   CREATE INDEX deliveries_pending ON deliveries (next_at) WHERE status = 'pending';
   CREATE INDEX deliveries_updated ON deliveries (updated_at) WHERE status = 'delivered';
   CREATE TABLE dead_letters (
     dead_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     source TEXT NOT NULL,
     id TEXT NOT NULL,
     rule TEXT NOT NULL,
     target TEXT NOT NULL,
     log_offset BIGINT NOT NULL,
     attempts INTEGER NOT NULL,
     reason TEXT NOT NULL,
     error TEXT NOT NULL,
     event TEXT NOT NULL,
     dead_at BIGINT NOT NULL
   );
   CREATE INDEX dead_letters_rule ON dead_letters (rule, target);
   CREATE TABLE trace (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     source TEXT NOT NULL,
     id TEXT NOT NULL,
     log_offset BIGINT NOT NULL,
     at BIGINT NOT NULL,
     kind TEXT NOT NULL,
     rule TEXT,
     target TEXT,
     attempt INTEGER,
     detail TEXT
   );
   CREATE INDEX trace_event ON trace (id, source);
   CREATE INDEX trace_at ON trace (at);

   CREATE TABLE condition_state (
     rule TEXT COLLATE "C" PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     generation INTEGER NOT NULL,
     log_offset BIGINT NOT NULL,
     snapshot TEXT NOT NULL,
     saved_at BIGINT NOT NULL
   );

   CREATE TABLE cost_intervals (
     instance TEXT NOT NULL,
     start_at BIGINT NOT NULL,
     end_at BIGINT,
     grp TEXT NOT NULL,
     stack TEXT,
     tags TEXT NOT NULL,
     provider TEXT NOT NULL,
     instance_type TEXT NOT NULL,
     price DOUBLE PRECISION NOT NULL,
     start_event TEXT NOT NULL,
     start_cause TEXT,
     end_event TEXT,
     end_cause TEXT,
     PRIMARY KEY (instance, start_at)
   );
   CREATE INDEX cost_intervals_end ON cost_intervals (end_at);
   CREATE TABLE cost_changes (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     at BIGINT NOT NULL,
     kind TEXT NOT NULL,
     instance TEXT NOT NULL,
     grp TEXT NOT NULL,
     stack TEXT,
     tags TEXT NOT NULL,
     instance_type TEXT NOT NULL,
     delta DOUBLE PRECISION NOT NULL,
     rate_after DOUBLE PRECISION NOT NULL,
     event_id TEXT NOT NULL,
     event_type TEXT NOT NULL,
     cause_id TEXT
   );
   CREATE INDEX cost_changes_at ON cost_changes (at);
   CREATE TABLE cost_causes (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     subject TEXT,
     causation_id TEXT,
     summary TEXT NOT NULL,
     at BIGINT NOT NULL
   );
   CREATE INDEX cost_causes_at ON cost_causes (at);
   CREATE TABLE finops_state (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at BIGINT NOT NULL
   );

   CREATE TABLE incidents (
     id TEXT COLLATE "C" PRIMARY KEY,
     title TEXT NOT NULL,
     severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
     status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
     resource TEXT NOT NULL,
     grp TEXT,
     policy TEXT NOT NULL,
     opened_at BIGINT NOT NULL,
     resolved_at BIGINT,
     resolved_by TEXT,
     details TEXT NOT NULL,
     timeline TEXT NOT NULL
   );
   CREATE INDEX incidents_opened ON incidents (opened_at, id);
   CREATE INDEX incidents_open ON incidents (policy, resource) WHERE status = 'open';

   CREATE TABLE workflow_runs (
     seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
     id TEXT COLLATE "C" PRIMARY KEY,
     workflow TEXT NOT NULL,
     generation INTEGER NOT NULL,
     manifest TEXT NOT NULL,
     input TEXT NOT NULL,
     event TEXT,
     cause TEXT,
     status TEXT NOT NULL CHECK (status IN ('running', 'compensating', 'succeeded', 'failed', 'cancelled')),
     error TEXT,
     started_at BIGINT NOT NULL,
     ended_at BIGINT,
     deadline BIGINT,
     start_offset BIGINT NOT NULL
   );
   CREATE INDEX workflow_runs_workflow ON workflow_runs (workflow, started_at);
   CREATE INDEX workflow_runs_started ON workflow_runs (started_at);
   CREATE INDEX workflow_runs_active ON workflow_runs (status) WHERE status IN ('running', 'compensating');
   CREATE TABLE workflow_steps (
     run_id TEXT COLLATE "C" NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
     path TEXT COLLATE "C" NOT NULL,
     kind TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled')),
     input TEXT,
     output TEXT,
     error TEXT,
     attempts INTEGER NOT NULL,
     started_at BIGINT NOT NULL,
     ended_at BIGINT,
     wake_at BIGINT,
     state TEXT,
     started_seq INTEGER NOT NULL,
     done_seq INTEGER,
     PRIMARY KEY (run_id, path)
   );
   CREATE TABLE workflow_outbox (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     event TEXT NOT NULL
   );
   CREATE TABLE approvals (
     id TEXT COLLATE "C" PRIMARY KEY,
     kind TEXT NOT NULL,
     ref TEXT NOT NULL,
     summary TEXT NOT NULL,
     payload TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
     requested_at BIGINT NOT NULL,
     expires_at BIGINT,
     decided_at BIGINT,
     decided_by TEXT,
     comment TEXT,
     handled BOOLEAN NOT NULL DEFAULT false
   );
   CREATE INDEX approvals_requested ON approvals (requested_at);
   CREATE INDEX approvals_ref ON approvals (ref);
   CREATE INDEX approvals_pending ON approvals (expires_at) WHERE status = 'pending';
   CREATE INDEX approvals_unhandled ON approvals (kind) WHERE status <> 'pending' AND NOT handled;`,
  // Leases with fencing tokens (ports/lease-store.ts). A row outlives its lease so the name's
  // token never goes back; expires_at and renewed_at are ms in the server's clock.
  `CREATE TABLE leases (
     name TEXT COLLATE "C" PRIMARY KEY,
     owner TEXT NOT NULL,
     token BIGINT NOT NULL CHECK (token > 0),
     expires_at BIGINT NOT NULL,
     renewed_at BIGINT NOT NULL
   );`,
];
