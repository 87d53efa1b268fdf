/** @module PostgresConditionStore: the ConditionStore conformance suite, and advances racing another node's writes. */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createPostgresConditionStore } from '../../src/store/postgres/condition-store.js';
import { type ConditionStoreHarness, runConditionStoreConformance } from '../conformance/condition-store.js';
import { describeSkipped, postgresTestEnv } from './postgres-harness.js';

const env = await postgresTestEnv();

if (!env.available) {
  describeSkipped('PostgreSQL condition store', env.reason);
} else {
  const pg = env.database();

  const openAt = async (clock: Clock, schema?: string): Promise<ConditionStoreHarness> => {
    const db = await pg.open(schema === undefined ? {} : { schema });
    return {
      store: createPostgresConditionStore(db, clock),
      async reopen() {
        await db.close();
        return openAt(clock, db.schema);
      },
      close: () => db.close(),
    };
  };

  runConditionStoreConformance({ name: 'PostgreSQL', create: (clock) => openAt(clock) });

  describe('PostgreSQL condition store shared by two nodes', () => {
    it('never lowers an offset when two nodes advance the same rows at once', async () => {
      const a = await pg.open();
      const b = await pg.open({ schema: a.schema });
      try {
        const one = createPostgresConditionStore(a);
        const two = createPostgresConditionStore(b);
        const rules = ['r1', 'r2', 'r3'];
        await one.save({
          put: rules.map((rule) => ({ rule, fingerprint: 'f', generation: 1, offset: 0, snapshot: {}, savedAt: 0 })),
        });
        await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? one : two).save({ advance: { rules, offset: i } })),
        );
        expect((await two.list()).map((r) => r.offset)).toEqual([39, 39, 39]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
