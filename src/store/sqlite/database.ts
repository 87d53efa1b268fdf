/** @module Opening SQLite files the same way everywhere: WAL, fsync policy, migrations. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, HomeostatError } from '../../core/errors.js';

/** How hard a commit is pushed to disk. */
export const FsyncMode = {
  /** WAL with synchronous=NORMAL: survives a process crash (kill -9); a power loss may drop the last commits, never corrupts. */
  normal: 'normal',
  /** WAL with synchronous=FULL: every commit is fsynced before it is acknowledged; survives power loss. */
  always: 'always',
} as const;
export type FsyncMode = (typeof FsyncMode)[keyof typeof FsyncMode];

export type SqliteDatabase = Database.Database;

/** An ordered list of migrations; index i migrates from schema version i to i+1. */
export type Migrations = readonly string[];

export interface OpenOptions {
  readonly path: string;
  readonly fsync: FsyncMode;
  readonly migrations: Migrations;
  /** Name used in messages, e.g. 'event log'. */
  readonly what: string;
}

/** Opens (creating if needed) a database file and brings its schema up to date. */
export function openDatabase(options: OpenOptions): SqliteDatabase {
  let db: SqliteDatabase;
  try {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.fsync === 'always' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
  } catch (cause) {
    throw new HomeostatError(
      ErrorCode.BACKEND,
      `cannot open the ${options.what} at ${options.path}: ${(cause as Error).message}; check that the directory is writable`,
      { cause },
    );
  }
  migrate(db, options);
  return db;
}

function migrate(db: SqliteDatabase, options: OpenOptions): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const target = options.migrations.length;
  if (current > target) {
    db.close();
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `the ${options.what} at ${options.path} has schema version ${current}, newer than this Homeostat supports (${target}); upgrade Homeostat or use another data directory`,
    );
  }
  for (let v = current; v < target; v++) {
    db.transaction(() => {
      db.exec(options.migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
