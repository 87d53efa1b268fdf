/**
 * @module The PostgreSQL test environment: each test file gets its own database
 * (`homeostat_test_<random>`, dropped after the file) and each store its own schema in it, so
 * files and tests run in parallel without seeing each other's rows.
 *
 * The server is `HOMEOSTAT_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres
 * (a database the user can connect to, to create and drop the test databases). When it cannot be
 * reached the suites are skipped with the reason printed, except with CI=true, where the file fails.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openPostgres, type PostgresDatabase, type PostgresOptions } from '../../src/store/postgres/database.js';

export const POSTGRES_ADMIN_URL =
  process.env.HOMEOSTAT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** This file's database: open a state database on a fresh schema, or on a schema already used. */
export interface PostgresTestDatabase {
  /** The test database's URL (valid once the file's `beforeAll` ran). */
  url(): string;
  /** A schema name not used before in this file. */
  newSchema(): string;
  /** Opens the state database (migrated) on `schema`, default a new one. */
  open(options?: PostgresOptions): Promise<PostgresDatabase>;
}

export type PostgresTestEnv =
  | { readonly available: true; database(): PostgresTestDatabase }
  | { readonly available: false; readonly reason: string };

/**
 * Probes the server. Unreachable: with CI=true throws (the file fails with the reason and the
 * fix); otherwise prints the reason and reports `available: false`.
 */
export async function postgresTestEnv(): Promise<PostgresTestEnv> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const reason = `PostgreSQL is not reachable at ${redact(POSTGRES_ADMIN_URL)}: ${(error as Error).message}`;
    if (isCi()) {
      throw new Error(
        `${reason}. CI runs the PostgreSQL suites: start PostgreSQL 13+ on 127.0.0.1:5432 with trust auth for user postgres, or set HOMEOSTAT_TEST_POSTGRES_URL to a server where the user may CREATE DATABASE`,
      );
    }
    console.warn(`skipping the PostgreSQL suites: ${reason} (set HOMEOSTAT_TEST_POSTGRES_URL to run them)`);
    return { available: false, reason };
  } finally {
    await client.end().catch(() => undefined);
  }
  return { available: true, database: useTestDatabase };
}

/** Defines a skipped block that says why the PostgreSQL suites did not run. */
export function describeSkipped(title: string, reason: string): void {
  describe.skip(`${title} (skipped: ${reason})`, () => {
    it('needs a PostgreSQL server', () => undefined);
  });
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an invalid URL)';
  }
}

/** Registers `beforeAll`/`afterAll` hooks that create and drop this file's database. */
function useTestDatabase(): PostgresTestDatabase {
  const name = `homeostat_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  let schemas = 0;
  let ready = false;

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${name}`);
    ready = true;
  });
  afterAll(async () => {
    if (ready) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  const newSchema = () => `t${++schemas}_${randomBytes(3).toString('hex')}`;
  return {
    url: () => url.toString(),
    newSchema,
    open: (options = {}) =>
      openPostgres(url.toString(), { maxConnections: 4, ...options, schema: options.schema ?? newSchema() }),
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
