/** @module PostgreSQL manifest stores (rules, stacks, policies): the RuleStore conformance suite and concurrent writers. */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { ErrorCode } from '../../src/core/errors.js';
import type { RuleStore } from '../../src/ports/rule-store.js';
import type { PostgresDatabase } from '../../src/store/postgres/database.js';
import {
  createPostgresPolicyStore,
  createPostgresRuleStore,
  createPostgresStackStore,
} from '../../src/store/postgres/rule-store.js';
import { type RuleStoreHarness, runRuleStoreConformance } from '../conformance/rule-store.js';
import { describeSkipped, postgresTestEnv, type PostgresTestDatabase } from './postgres-harness.js';

const env = await postgresTestEnv();

if (!env.available) {
  describeSkipped('PostgreSQL rule stores', env.reason);
} else {
  const pg = env.database();

  type Factory = (db: PostgresDatabase, clock: Clock) => RuleStore;
  const openAt = async (schema: string | undefined, clock: Clock, create: Factory): Promise<RuleStoreHarness> => {
    const db = await pg.open(schema === undefined ? {} : { schema });
    return {
      store: create(db, clock),
      async reopen() {
        await db.close();
        return openAt(db.schema, clock, create);
      },
      close: () => db.close(),
    };
  };

  runRuleStoreConformance({ name: 'PostgreSQL', create: (clock) => openAt(undefined, clock, createPostgresRuleStore) });
  runRuleStoreConformance({
    name: 'PostgreSQL stacks',
    create: (clock) => openAt(undefined, clock, createPostgresStackStore),
  });
  runRuleStoreConformance({
    name: 'PostgreSQL policies',
    create: (clock) => openAt(undefined, clock, createPostgresPolicyStore),
  });

  describe('PostgreSQL rule store', () => {
    it('keeps rules, stacks and policies apart', async () => {
      await withDb(pg, async (db) => {
        await createPostgresRuleStore(db).put('web', { kind: 'Rule' });
        await createPostgresStackStore(db).put('web', { kind: 'Stack' });
        expect((await createPostgresRuleStore(db).get('web'))?.manifest).toEqual({ kind: 'Rule' });
        expect((await createPostgresStackStore(db).get('web'))?.manifest).toEqual({ kind: 'Stack' });
        expect(await createPostgresPolicyStore(db).list()).toEqual([]);
      });
    });

    it('stores each manifest as JSON text, exactly as serialised', async () => {
      await withDb(pg, async (db) => {
        await createPostgresRuleStore(db).put('cpu', { spec: { enabled: true }, kind: 'Rule' });
        const { rows } = await db.query('SELECT manifest, generation FROM rules WHERE name = $1', ['cpu']);
        expect(rows).toEqual([{ manifest: '{"spec":{"enabled":true},"kind":"Rule"}', generation: 1 }]);
      });
    });

    it('bumps the generation once per put when two nodes replace a rule at once', async () => {
      await withDb(pg, async (a) => {
        const b = await pg.open({ schema: a.schema });
        try {
          const stores = [createPostgresRuleStore(a), createPostgresRuleStore(b)];
          const puts = Array.from({ length: 12 }, (_, i) => stores[i % 2]!.put('cpu', { n: i }));
          const generations = (await Promise.all(puts)).map((r) => r.generation).sort((x, y) => x - y);
          expect(generations).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
          expect((await stores[0]!.get('cpu'))?.generation).toBe(12);
        } finally {
          await b.close();
        }
      });
    });

    it('orders names by code point whatever the database collation', async () => {
      await withDb(pg, async (db) => {
        const store = createPostgresRuleStore(db);
        for (const name of ['b', 'B', 'a-b', 'a.b', 'ab', 'Z', '_x']) await store.put(name, {});
        expect((await store.list()).map((r) => r.name)).toEqual(['B', 'Z', '_x', 'a-b', 'a.b', 'ab', 'b']);
      });
    });

    it('reports a failing statement as E_BACKEND naming the operation', async () => {
      await withDb(pg, async (db) => {
        const store = createPostgresStackStore(db);
        await db.query('DROP TABLE stacks');
        await expect(store.list()).rejects.toMatchObject({
          code: ErrorCode.BACKEND,
          message: expect.stringMatching(/^cannot list the stacks in the PostgreSQL state database/),
        });
      });
    });
  });
}

async function withDb(pg: PostgresTestDatabase, fn: (db: PostgresDatabase) => Promise<void>): Promise<void> {
  const db = await pg.open();
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}
