/** @module PostgresLeaseStore: the LeaseStore conformance suite on PostgreSQL, two pools sharing one schema and the server's clock. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { PostgresDatabase } from '../../src/store/postgres/database.js';
import { createPostgresLeaseStore } from '../../src/store/postgres/lease-store.js';
import { type LeaseStoreHarness, runLeaseStoreConformance } from '../conformance/lease-store.js';
import { describeSkipped, postgresTestEnv } from './postgres-harness.js';

const env = await postgresTestEnv();

if (!env.available) {
  describeSkipped('PostgreSQL lease store', env.reason);
} else {
  const pg = env.database();

  const openAt = async (schema?: string): Promise<LeaseStoreHarness> => {
    const db = await pg.open(schema === undefined ? {} : { schema });
    const dbs: PostgresDatabase[] = [db];
    const closeAll = () => Promise.all(dbs.map((d) => d.close())).then(() => undefined);
    return {
      store: createPostgresLeaseStore(db),
      async other() {
        const second = await pg.open({ schema: db.schema });
        dbs.push(second);
        return createPostgresLeaseStore(second);
      },
      // The server's clock decides expiry: wait for it.
      elapse: (ms) => sleep(ms),
      async reopen() {
        await closeAll();
        return openAt(db.schema);
      },
      close: closeAll,
    };
  };

  runLeaseStoreConformance({ name: 'PostgreSQL', create: () => openAt() });

  describe('PostgreSQL lease store across nodes', () => {
    it('stamps expiry with the server clock, whatever the node clock says', async () => {
      const db = await pg.open();
      try {
        const store = createPostgresLeaseStore(db);
        const { rows } = await db.query<{ ms: number }>(
          'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms',
        );
        const lease = (await store.acquire('leader/a', 'node-1', 60_000))!;
        expect(lease.expiresAt).toBeGreaterThanOrEqual(rows[0]!.ms + 60_000);
        expect(lease.expiresAt).toBeLessThan(rows[0]!.ms + 60_000 + 30_000);
      } finally {
        await db.close();
      }
    });

    it('fails with E_CLOSED once the database is closed', async () => {
      const db = await pg.open();
      const store = createPostgresLeaseStore(db);
      await db.close();
      await expect(store.acquire('leader/a', 'node-1', 1000)).rejects.toMatchObject({ code: 'E_CLOSED' });
    });
  });
}
