/** @module The SQLite state database: registered schemas, API tokens and (later) other control-plane state. */
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
