/** @module The PostgreSQL state database: connecting, version checks, migrations; token and schema stores' conformance. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import {
  checkServerVersion,
  openPostgres,
  SCHEMA_TABLE,
  type PostgresDatabase,
} from '../../src/store/postgres/database.js';
import { POSTGRES_STATE_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { createPostgresSchemaStore } from '../../src/store/postgres/schema-store.js';
import { createPostgresTokenStore } from '../../src/store/postgres/token-store.js';
import { runSchemaStoreConformance } from '../conformance/schema-store.js';
import { runTokenStoreConformance } from '../conformance/token-store.js';
import { describeSkipped, postgresTestEnv } from './postgres-harness.js';

describe('checkServerVersion', () => {
  it('accepts PostgreSQL 13 and newer', () => {
    expect(() => checkServerVersion(130000, '13.0')).not.toThrow();
    expect(() => checkServerVersion(170002, '17.2')).not.toThrow();
  });

  it('refuses an older server, naming its version and what to do', () => {
    const error = (() => {
      try {
        checkServerVersion(120015, '12.15', 'at db.example:5432');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      retryable: false,
      message: expect.stringMatching(
        /^PostgreSQL 13 or newer is needed; this server is 12\.15 \(at db\.example:5432\); upgrade/,
      ),
    });
  });
});

describe('openPostgres without a usable server', () => {
  it('says it cannot connect, naming host, port and database and the fix', async () => {
    const port = await closedPort();
    const error = await openPostgres(`postgres://postgres:secret@127.0.0.1:${port}/homeostat`, {
      connectTimeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.BACKEND, retryable: true });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port} \\(database 'homeostat'\\): .*check that the server is running`,
      ),
    );
    expect((error as Error).message).not.toContain('secret');
  });

  it('rejects a URL that is not a postgres URL', async () => {
    await expect(openPostgres('mysql://127.0.0.1/x')).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringContaining('postgres://user:password@host:5432/database'),
    });
    await expect(openPostgres('not a url')).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID });
  });

  it('rejects a schema name it would have to quote', async () => {
    await expect(openPostgres('postgres://127.0.0.1/x', { schema: 'Bad-Name' })).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringContaining("schema name 'Bad-Name' is invalid"),
    });
  });
});

const env = await postgresTestEnv();

if (!env.available) {
  describeSkipped('PostgreSQL state database', env.reason);
} else {
  const pg = env.database();

  runTokenStoreConformance({
    name: 'PostgreSQL',
    create: async () => {
      const db = await pg.open();
      return { store: createPostgresTokenStore(db), close: () => db.close() };
    },
  });

  runSchemaStoreConformance({
    name: 'PostgreSQL',
    create: async () => {
      const db = await pg.open();
      return { store: createPostgresSchemaStore(db), close: () => db.close() };
    },
  });

  describe('PostgreSQL state database', () => {
    it('brings a new schema to the latest migration and records each one', async () => {
      const db = await pg.open();
      try {
        expect(db.schemaVersion).toBe(POSTGRES_STATE_MIGRATIONS.length);
        expect(db.serverVersion).toMatch(/^\d+\.\d+/);
        const { rows } = await db.query<{ version: number }>(`SELECT version FROM ${SCHEMA_TABLE} ORDER BY version`);
        expect(rows.map((r) => r.version)).toEqual(POSTGRES_STATE_MIGRATIONS.map((_, i) => i + 1));
      } finally {
        await db.close();
      }
    });

    it('runs each migration once when several nodes start at the same time', async () => {
      const schema = pg.newSchema();
      const migrations = [
        'CREATE TABLE counted (n INTEGER)',
        'INSERT INTO counted VALUES (1)',
        'INSERT INTO counted VALUES (2)',
      ];
      const dbs = await Promise.all(
        Array.from({ length: 5 }, () => openPostgres(pg.url(), { schema, migrations, maxConnections: 2 })),
      );
      try {
        expect(dbs.map((d) => d.schemaVersion)).toEqual([3, 3, 3, 3, 3]);
        const { rows } = await dbs[0]!.query<{ n: number }>('SELECT n FROM counted ORDER BY n');
        expect(rows.map((r) => r.n)).toEqual([1, 2]);
        const versions = await dbs[0]!.query<{ version: number }>(
          `SELECT version FROM ${SCHEMA_TABLE} ORDER BY version`,
        );
        expect(versions.rows.map((r) => r.version)).toEqual([1, 2, 3]);
      } finally {
        await Promise.all(dbs.map((d) => d.close()));
      }
    });

    it('applies only the new migrations on a later start', async () => {
      const schema = pg.newSchema();
      const first = await openPostgres(pg.url(), { schema, migrations: ['CREATE TABLE a (n INTEGER)'] });
      await first.query('INSERT INTO a VALUES (7)');
      await first.close();
      const second = await openPostgres(pg.url(), {
        schema,
        migrations: ['CREATE TABLE a (n INTEGER)', 'ALTER TABLE a ADD COLUMN m INTEGER DEFAULT 1'],
      });
      try {
        expect(second.schemaVersion).toBe(2);
        expect((await second.query('SELECT n, m FROM a')).rows).toEqual([{ n: 7, m: 1 }]);
      } finally {
        await second.close();
      }
    });

    it('rolls back a failing migration whole and says which one failed', async () => {
      const schema = pg.newSchema();
      const migrations = [
        'CREATE TABLE ok (n INTEGER)',
        'CREATE TABLE half (n INTEGER); SELECT no_such_column FROM ok',
      ];
      await expect(openPostgres(pg.url(), { schema, migrations })).rejects.toMatchObject({
        code: ErrorCode.BACKEND,
        message: expect.stringMatching(/^migration 2 of the PostgreSQL state database .* failed: .*no_such_column/),
      });
      const db = await openPostgres(pg.url(), { schema, migrations: migrations.slice(0, 1) });
      try {
        expect(db.schemaVersion).toBe(1);
        const half = await db.query("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'half'", [schema]);
        expect(half.rowCount).toBe(0);
      } finally {
        await db.close();
      }
    });

    it('refuses to start on a schema newer than it knows, saying to upgrade', async () => {
      const db = await pg.open();
      const schema = db.schema;
      await db.query(`INSERT INTO ${SCHEMA_TABLE} (version) VALUES ($1)`, [POSTGRES_STATE_MIGRATIONS.length + 3]);
      await db.close();
      const known = POSTGRES_STATE_MIGRATIONS.length;
      await expect(openPostgres(pg.url(), { schema })).rejects.toMatchObject({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.stringMatching(
          new RegExp(
            `^the database schema is version ${known + 3} but this Homeostat knows up to ${known}: upgrade Homeostat`,
          ),
        ),
      });
    });

    it('names a database that does not exist and how to create it', async () => {
      const url = new URL(pg.url());
      url.pathname = '/homeostat_no_such_db';
      await expect(openPostgres(url.toString())).rejects.toMatchObject({
        code: ErrorCode.BACKEND,
        retryable: false,
        message: expect.stringMatching(
          /has no database 'homeostat_no_such_db'; create it \(createdb homeostat_no_such_db/,
        ),
      });
    });

    it('keeps tokens and schemas after closing and reopening', async () => {
      const first = await pg.open();
      await createPostgresSchemaStore(first).put({ type: 'order.created', schema: { type: 'object' }, mode: 'warn' });
      const token = { id: 't1', name: 'ci', scopes: ['publish' as const], hash: 'cd'.repeat(32), createdAt: 5 };
      await createPostgresTokenStore(first).add(token);
      await first.close();
      const second = await pg.open({ schema: first.schema });
      try {
        expect(await createPostgresSchemaStore(second).get('order.created')).toMatchObject({
          version: 1,
          mode: 'warn',
        });
        expect(await createPostgresTokenStore(second).find('t1')).toEqual(token);
      } finally {
        await second.close();
      }
    });

    it('serialises schema puts of one type from two nodes: versions 1..n, each once', async () => {
      const a = await pg.open();
      const b = await pg.open({ schema: a.schema });
      try {
        const stores = [createPostgresSchemaStore(a), createPostgresSchemaStore(b)];
        const puts = Array.from({ length: 10 }, (_, i) =>
          stores[i % 2]!.put({ type: 't', schema: { title: `v${i}` }, mode: 'enforce' }),
        );
        const versions = (await Promise.all(puts)).map((r) => r.version).sort((x, y) => x - y);
        expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('reports a failing statement as E_BACKEND naming the operation, and E_CLOSED after close', async () => {
      const db: PostgresDatabase = await pg.open();
      const store = createPostgresSchemaStore(db);
      await db.query('DROP TABLE schemas');
      await expect(store.list()).rejects.toMatchObject({
        code: ErrorCode.BACKEND,
        retryable: true,
        message: expect.stringMatching(/^cannot list the schemas in the PostgreSQL state database .*schemas/),
      });
      await db.close();
      await expect(store.list()).rejects.toMatchObject({ code: ErrorCode.CLOSED });
      await expect(createPostgresTokenStore(db).count()).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    });
  });
}

/** A TCP port on 127.0.0.1 nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
