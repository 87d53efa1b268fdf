/**
 * @module Opening the PostgreSQL state database the same way everywhere: a connection pool, a
 * check of the server's version, and migrations that run on start (one transaction each, under an
 * advisory lock so several nodes starting at once do not race) and refuse a newer schema.
 */
import pg from 'pg';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { POSTGRES_STATE_MIGRATIONS } from './migrations.js';

/** The oldest server this code runs against (`server_version_num`): PostgreSQL 13. */
export const MIN_SERVER_VERSION_NUM = 130000;

/** The migrations table: one row per applied migration. */
export const SCHEMA_TABLE = 'homeostat_schema';

/** What a store runs statements on: the pool, or one transaction's connection. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/** An open PostgreSQL state database. The opener owns it and closes it. */
export interface PostgresDatabase extends Queryable {
  /** The server's version, e.g. '15.4'. */
  readonly serverVersion: string;
  /** The PostgreSQL schema (namespace) holding the tables. */
  readonly schema: string;
  /** The schema version after migrations: the number of migrations applied. */
  readonly schemaVersion: number;
  /** True once `close` was called; statements then fail with E_CLOSED. */
  readonly closed: boolean;
  /** `host:port/database` (never the password), for messages. */
  readonly where: string;
  /** Runs `fn` in one transaction (BEGIN ... COMMIT, ROLLBACK when it throws) on one connection. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Ends the pool (waits for checked-out connections to be returned). Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link openPostgres}. */
export interface PostgresOptions {
  /**
   * The PostgreSQL schema (namespace) for Homeostat's tables; created if missing. Lower-case
   * letters, digits and `_`, starting with a letter or `_`. Default `public`.
   */
  readonly schema?: string;
  /** Most connections the pool opens. Default 10. */
  readonly maxConnections?: number;
  /** How long to wait for a connection, ms. Default 10,000. */
  readonly connectTimeoutMs?: number;
  /** Told about failures of idle pooled connections (the pool replaces them). Default: ignored. */
  readonly onError?: (error: Error) => void;
  /** The migrations to apply; default {@link POSTGRES_STATE_MIGRATIONS}. Index i migrates from version i to i+1. */
  readonly migrations?: readonly string[];
  /** `application_name` shown in pg_stat_activity. Default 'homeostat'. */
  readonly applicationName?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

// int8 (COUNT, SUM of integers, BIGINT columns) and numeric come back as strings by default.
// Every value Homeostat stores in them (ms times, log offsets, ids) is below 2^53.
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID || oid === NUMERIC_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Connects to PostgreSQL at `url` (`postgres://user:password@host:5432/database`), checks that
 * the server is PostgreSQL 13 or newer, and brings the state schema up to date.
 *
 * Errors: E_CONFIG_INVALID for a bad URL or schema name, a server older than 13, or a database
 * whose schema is newer than this code knows; E_BACKEND when the server cannot be reached, the
 * database does not exist, the login is refused, or a migration fails. Each message names the
 * server and database and says what to do.
 */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
  const target = describeUrl(url);
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `the PostgreSQL schema name '${schema}' is invalid; use lower-case letters, digits and '_', starting with a letter or '_' (at most 63 characters)`,
      { details: { schema } },
    );
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'homeostat',
    // Every connection works in the configured schema; `public` is PostgreSQL's default.
    options: `-c search_path=${schema}`,
    types,
  });
  const onError = options.onError ?? (() => undefined);
  pool.on('error', (error) => onError(error));

  try {
    const serverVersion = await checkServer(pool, target);
    const migrations = options.migrations ?? POSTGRES_STATE_MIGRATIONS;
    const schemaVersion = await migrate(pool, schema, migrations, target);
    return wrap(pool, { serverVersion, schema, schemaVersion, where: target.where });
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}

/** Runs `fn` after every earlier call of the same runner has settled: one at a time, in call order. */
export function createSerialRunner(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(fn, fn);
    tail = result.catch(() => undefined);
    return result;
  };
}

/**
 * Runs a store operation, reporting PostgreSQL failures as E_BACKEND (retryable) naming what was
 * being done, E_CLOSED once `db` is closed; HomeostatErrors pass through.
 */
export async function guard<T>(db: PostgresDatabase, what: string, fn: () => Promise<T>): Promise<T> {
  if (db.closed) throw new HomeostatError(ErrorCode.CLOSED, `cannot ${what}: the state database is closed`);
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof HomeostatError) throw cause;
    if (db.closed) {
      throw new HomeostatError(ErrorCode.CLOSED, `cannot ${what}: the state database is closed`, { cause });
    }
    throw new HomeostatError(
      ErrorCode.BACKEND,
      `cannot ${what} in the PostgreSQL state database (${db.where}): ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** True for PostgreSQL's unique_violation (23505). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

/**
 * Checks `server_version_num` against {@link MIN_SERVER_VERSION_NUM}; throws E_CONFIG_INVALID
 * saying what to do when the server is older.
 */
export function checkServerVersion(versionNum: number, version: string, where = 'the server'): void {
  if (Number.isInteger(versionNum) && versionNum >= MIN_SERVER_VERSION_NUM) return;
  throw new HomeostatError(
    ErrorCode.CONFIG_INVALID,
    `PostgreSQL 13 or newer is needed; this server is ${version} (${where}); upgrade PostgreSQL or point the state database URL at a newer server`,
    { details: { serverVersion: version, serverVersionNum: versionNum, minimum: MIN_SERVER_VERSION_NUM } },
  );
}

interface Target {
  readonly where: string;
  readonly host: string;
  readonly database: string;
  readonly user: string;
}

function describeUrl(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      'the PostgreSQL URL is not a valid URL; use postgres://user:password@host:5432/database',
      { cause },
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `the PostgreSQL URL has scheme '${parsed.protocol.replace(/:$/, '')}'; use postgres://user:password@host:5432/database`,
    );
  }
  const host = `${parsed.hostname || parsed.searchParams.get('host') || 'localhost'}:${parsed.port || '5432'}`;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username);
  const user = decodeURIComponent(parsed.username) || '(default user)';
  return { where: `${host}/${database}`, host, database, user };
}

async function checkServer(pool: pg.Pool, target: Target): Promise<string> {
  let rows: { num: string; version: string }[];
  try {
    const result = await pool.query<{ num: string; version: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version",
    );
    rows = result.rows;
  } catch (cause) {
    throw connectError(cause, target);
  }
  const row = rows[0]!;
  const version = row.version.split(' ')[0] ?? row.version;
  checkServerVersion(Number(row.num), version, `at ${target.host}`);
  return version;
}

function connectError(cause: unknown, target: Target): HomeostatError {
  const code = (cause as { code?: unknown }).code;
  const message = (cause as Error).message || String(cause);
  if (code === '3D000') {
    return new HomeostatError(
      ErrorCode.BACKEND,
      `the PostgreSQL server at ${target.host} has no database '${target.database}'; create it (createdb ${target.database}, or CREATE DATABASE "${target.database}") or fix the database name in the URL`,
      { cause, retryable: false, details: { where: target.where } },
    );
  }
  if (code === '28P01' || code === '28000') {
    return new HomeostatError(
      ErrorCode.BACKEND,
      `the PostgreSQL server at ${target.host} refused user '${target.user}' for database '${target.database}': ${message}; check the user and password in the URL and the server's pg_hba.conf`,
      { cause, retryable: false, details: { where: target.where } },
    );
  }
  return new HomeostatError(
    ErrorCode.BACKEND,
    `cannot connect to PostgreSQL at ${target.host} (database '${target.database}'): ${message}; check that the server is running and reachable from here and that the URL's host and port are right`,
    { cause, details: { where: target.where } },
  );
}

/**
 * Applies the missing migrations, each in its own transaction that first takes a transaction-level
 * advisory lock for this schema: concurrent starters queue on it, and each re-reads the version
 * under the lock, so every migration runs exactly once.
 */
async function migrate(pool: pg.Pool, schema: string, migrations: readonly string[], target: Target): Promise<number> {
  const known = migrations.length;
  for (;;) {
    const client = await pool.connect().catch((cause: unknown) => {
      throw connectError(cause, target);
    });
    let done = false;
    let version = 0;
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('homeostat.migrate'), hashtext($1))", [schema]);
      // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
      const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      const current = await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${SCHEMA_TABLE}`);
      version = current.rows[0]?.v ?? 0;
      if (version > known) {
        throw new HomeostatError(
          ErrorCode.CONFIG_INVALID,
          `the database schema is version ${version} but this Homeostat knows up to ${known}: upgrade Homeostat (PostgreSQL ${target.where}, schema ${schema})`,
          { details: { version, known, where: target.where, schema } },
        );
      }
      if (version === known) {
        done = true;
      } else {
        await runMigration(client, migrations[version]!, version + 1, target);
        await client.query(`INSERT INTO ${SCHEMA_TABLE} (version) VALUES ($1)`, [version + 1]);
      }
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      client.release(rolledBack ? undefined : true);
      if (error instanceof HomeostatError) throw error;
      throw new HomeostatError(
        ErrorCode.BACKEND,
        `cannot bring the PostgreSQL state database (${target.where}, schema ${schema}) to the current schema: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (done) return version;
  }
}

async function runMigration(client: pg.PoolClient, sql: string, to: number, target: Target): Promise<void> {
  try {
    await client.query(sql);
  } catch (cause) {
    throw new HomeostatError(
      ErrorCode.BACKEND,
      `migration ${to} of the PostgreSQL state database (${target.where}) failed: ${(cause as Error).message}; nothing of it was applied`,
      { cause },
    );
  }
}

function wrap(
  pool: pg.Pool,
  facts: { serverVersion: string; schema: string; schemaVersion: number; where: string },
): PostgresDatabase {
  let closed = false;
  let ended: Promise<void> | undefined;
  return {
    ...facts,
    get closed() {
      return closed;
    },
    query: (sql, params) => pool.query(sql, params as unknown[] | undefined),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        const rolledBack = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        // A connection whose transaction could not be rolled back is discarded, not reused.
        client.release(rolledBack ? undefined : true);
        throw error;
      }
    },
    close() {
      closed = true;
      ended ??= pool.end();
      return ended;
    },
  };
}
