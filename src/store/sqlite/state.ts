/** @module The SQLite state database: registered schemas, API tokens, rules, delivery state (pending retries, dead letters, trace). */
import type { FsyncMode, Migrations, SqliteDatabase } from './database.js';
import { openDatabase } from './database.js';

/**
 * The state database's migrations; index i migrates from version i to i+1.
 * Append only: never edit a migration that has shipped.
 */
export const STATE_MIGRATIONS: Migrations = [
  `CREATE TABLE schemas (
     type TEXT NOT NULL,
     version INTEGER NOT NULL CHECK (version > 0),
     -- The mode belongs to the type: every row of a type carries the same mode.
     mode TEXT NOT NULL CHECK (mode IN ('enforce', 'warn', 'off')),
     schema TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (type, version)
   );
   CREATE TABLE tokens (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     scopes TEXT NOT NULL,
     hash TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Rules and the dispatcher's delivery state (ports/rule-store.ts, ports/delivery-store.ts).
  `CREATE TABLE rules (
     name TEXT PRIMARY KEY,
     manifest TEXT NOT NULL,
     generation INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE deliveries (
     source TEXT NOT NULL,
     id TEXT NOT NULL,
     rule TEXT NOT NULL,
     target TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
     offset INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     next_at INTEGER,
     last_error TEXT,
     replayed INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (source, id, rule, target)
   ) WITHOUT ROWID;
   CREATE INDEX deliveries_pending ON deliveries (next_at) WHERE status = 'pending';
   CREATE INDEX deliveries_updated ON deliveries (updated_at) WHERE status = 'delivered';
   CREATE TABLE dead_letters (
     dead_id INTEGER PRIMARY KEY AUTOINCREMENT,
     source TEXT NOT NULL,
     id TEXT NOT NULL,
     rule TEXT NOT NULL,
     target TEXT NOT NULL,
     offset INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     reason TEXT NOT NULL,
     error TEXT NOT NULL,
     event TEXT NOT NULL,
     dead_at INTEGER NOT NULL
   );
   CREATE INDEX dead_letters_rule ON dead_letters (rule, target);
   CREATE TABLE trace (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     source TEXT NOT NULL,
     id TEXT NOT NULL,
     offset INTEGER NOT NULL,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     rule TEXT,
     target TEXT,
     attempt INTEGER,
     detail TEXT
   );
   CREATE INDEX trace_event ON trace (id, source);
   CREATE INDEX trace_at ON trace (at);`,
  // Stacks: declared infrastructure (ports/rule-store.ts StackStore).
  `CREATE TABLE stacks (
     name TEXT PRIMARY KEY,
     manifest TEXT NOT NULL,
     generation INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Policies (ScalingPolicy, HealingPolicy, ...), keyed '<Kind>/<name>' (ports/rule-store.ts PolicyStore).
  `CREATE TABLE policies (
     name TEXT PRIMARY KEY,
     manifest TEXT NOT NULL,
     generation INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Snapshots of the rules' stateful conditions (`when`) with the log offset each reflects (ports/condition-store.ts).
  `CREATE TABLE condition_state (
     rule TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     generation INTEGER NOT NULL,
     offset INTEGER NOT NULL,
     snapshot TEXT NOT NULL,
     saved_at INTEGER NOT NULL
   );`,
  // The cost ledger (ports/cost-ledger.ts): instance running intervals with their price, cost
  // changes with their cause, the causal events that explain them, and FinOps state.
  `CREATE TABLE cost_intervals (
     instance TEXT NOT NULL,
     start_at INTEGER NOT NULL,
     end_at INTEGER,
     grp TEXT NOT NULL,
     stack TEXT,
     tags TEXT NOT NULL,
     provider TEXT NOT NULL,
     instance_type TEXT NOT NULL,
     price REAL NOT NULL,
     start_event TEXT NOT NULL,
     start_cause TEXT,
     end_event TEXT,
     end_cause TEXT,
     PRIMARY KEY (instance, start_at)
   ) WITHOUT ROWID;
   CREATE INDEX cost_intervals_end ON cost_intervals (end_at);
   CREATE TABLE cost_changes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     instance TEXT NOT NULL,
     grp TEXT NOT NULL,
     stack TEXT,
     tags TEXT NOT NULL,
     instance_type TEXT NOT NULL,
     delta REAL NOT NULL,
     rate_after REAL NOT NULL,
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
     at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX cost_causes_at ON cost_causes (at);
   CREATE TABLE finops_state (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Incidents a HealingPolicy keeps (ports/incident-store.ts): details and timeline as JSON.
  `CREATE TABLE incidents (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
     status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
     resource TEXT NOT NULL,
     grp TEXT,
     policy TEXT NOT NULL,
     opened_at INTEGER NOT NULL,
     resolved_at INTEGER,
     resolved_by TEXT,
     details TEXT NOT NULL,
     timeline TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX incidents_opened ON incidents (opened_at);
   CREATE INDEX incidents_open ON incidents (policy, resource) WHERE status = 'open';`,
  // Workflows (ports/workflow-store.ts): manifests, durable runs with one record per step, the
  // outbox of workflow events, and approval requests (workflows' and the action gate's).
  `CREATE TABLE workflows (
     name TEXT PRIMARY KEY,
     manifest TEXT NOT NULL,
     generation INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE workflow_runs (
     id TEXT PRIMARY KEY,
     workflow TEXT NOT NULL,
     generation INTEGER NOT NULL,
     manifest TEXT NOT NULL,
     input TEXT NOT NULL,
     event TEXT,
     cause TEXT,
     status TEXT NOT NULL CHECK (status IN ('running', 'compensating', 'succeeded', 'failed', 'cancelled')),
     error TEXT,
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     deadline INTEGER,
     start_offset INTEGER NOT NULL
   );
   CREATE INDEX workflow_runs_workflow ON workflow_runs (workflow, started_at);
   CREATE INDEX workflow_runs_started ON workflow_runs (started_at);
   CREATE INDEX workflow_runs_active ON workflow_runs (status) WHERE status IN ('running', 'compensating');
   CREATE TABLE workflow_steps (
     run_id TEXT NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
     path TEXT NOT NULL,
     kind TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled')),
     input TEXT,
     output TEXT,
     error TEXT,
     attempts INTEGER NOT NULL,
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     wake_at INTEGER,
     state TEXT,
     started_seq INTEGER NOT NULL,
     done_seq INTEGER,
     PRIMARY KEY (run_id, path)
   ) WITHOUT ROWID;
   CREATE TABLE workflow_outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     event TEXT NOT NULL
   );
   CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     ref TEXT NOT NULL,
     summary TEXT NOT NULL,
     payload TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
     requested_at INTEGER NOT NULL,
     expires_at INTEGER,
     decided_at INTEGER,
     decided_by TEXT,
     comment TEXT,
     handled INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE INDEX approvals_requested ON approvals (requested_at);
   CREATE INDEX approvals_ref ON approvals (ref);
   CREATE INDEX approvals_pending ON approvals (expires_at) WHERE status = 'pending';
   CREATE INDEX approvals_unhandled ON approvals (kind) WHERE status <> 'pending' AND handled = 0;`,
  // Leases with fencing tokens (ports/lease-store.ts). A row outlives its lease so the name's
  // token never goes back; expires_at and renewed_at are ms in the store's clock.
  `CREATE TABLE leases (
     name TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     token INTEGER NOT NULL CHECK (token > 0),
     expires_at INTEGER NOT NULL,
     renewed_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
];

export interface StateDatabaseOptions {
  /** The database file, or ':memory:'. */
  readonly path: string;
  readonly fsync: FsyncMode;
}

/** Opens (creating if needed) the state database and applies {@link STATE_MIGRATIONS}. */
export function openStateDatabase(options: StateDatabaseOptions): SqliteDatabase {
  return openDatabase({ ...options, migrations: STATE_MIGRATIONS, what: 'state database' });
}
