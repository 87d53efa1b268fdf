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
