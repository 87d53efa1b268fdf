/** @module PostgresDeliveryStore: the DeliveryStore conformance suite, and two nodes writing the same keys at once. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import type { PostgresDatabase } from '../../src/store/postgres/database.js';
import { createPostgresDeliveryStore } from '../../src/store/postgres/delivery-store.js';
import {
  dead,
  delivered,
  type DeliveryStoreHarness,
  key,
  pending,
  runDeliveryStoreConformance,
  trace,
} from '../conformance/delivery-store.js';
import { describeSkipped, postgresTestEnv } from './postgres-harness.js';

const env = await postgresTestEnv();

if (!env.available) {
  describeSkipped('PostgreSQL delivery store', env.reason);
} else {
  const pg = env.database();

  const openAt = async (schema?: string): Promise<DeliveryStoreHarness> => {
    const db = await pg.open(schema === undefined ? {} : { schema });
    return {
      store: createPostgresDeliveryStore(db),
      async reopen() {
        await db.close();
        return openAt(db.schema);
      },
      close: () => db.close(),
    };
  };

  runDeliveryStoreConformance({ name: 'PostgreSQL', create: () => openAt() });

  /** Two handles on one schema: two Homeostat nodes sharing the state database. */
  async function twoNodes(fn: (a: PostgresDatabase, b: PostgresDatabase) => Promise<void>): Promise<void> {
    const a = await pg.open();
    const b = await pg.open({ schema: a.schema });
    try {
      await fn(a, b);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }

  describe('PostgreSQL delivery store shared by several nodes', () => {
    it('adds exactly one dead letter when two nodes dead-letter the same keys at once', async () => {
      await twoNodes(async (a, b) => {
        const stores = [createPostgresDeliveryStore(a), createPostgresDeliveryStore(b)];
        const keys = Array.from({ length: 30 }, (_, i) => key(i));
        await stores[0]!.apply(keys.map((k) => pending(k)));
        await Promise.all(stores.flatMap((s, n) => keys.map((k) => s.apply([dead(k, { reason: `node-${n}` })]))));
        expect(await stores[0]!.countDead()).toBe(30);
        const letters = await stores[1]!.listDead({ limit: 1000 });
        expect(new Set(letters.map((l) => l.key.id)).size).toBe(30);
        expect(await stores[1]!.statusOf(keys)).toEqual(keys.map(() => 'dead'));
      });
    });

    it('keeps delivered final when another node writes pending or dead for the key at the same time', async () => {
      await twoNodes(async (a, b) => {
        const one = createPostgresDeliveryStore(a);
        const two = createPostgresDeliveryStore(b);
        const keys = Array.from({ length: 30 }, (_, i) => key(i));
        await Promise.all(
          keys.flatMap((k) => [
            one.apply([delivered(k)]),
            two.apply([pending(k, { attempts: 3 })]),
            two.apply([dead(k)]),
          ]),
        );
        const statuses = await one.statusOf(keys);
        expect(statuses).toEqual(keys.map(() => 'delivered'));
        // A key dead-lettered before the delivered write landed keeps its entry; none is pending.
        expect(await two.pending()).toEqual([]);
      });
    });

    it('sees the other node’s writes: status, dead letters and trace', async () => {
      await twoNodes(async (a, b) => {
        await createPostgresDeliveryStore(a).apply([pending(key(1)), dead(key(2)), trace(key(2), 'dead-lettered')]);
        const other = createPostgresDeliveryStore(b);
        expect(await other.statusOf([key(1), key(2)])).toEqual(['pending', 'dead']);
        expect((await other.listDead()).map((l) => l.key)).toEqual([key(2)]);
        expect((await other.trace('ev-2')).map((e) => e.kind)).toEqual(['dead-lettered']);
      });
    });
  });

  describe('PostgreSQL delivery store batches', () => {
    it('answers the status lookups of one turn with one query, each caller its own keys', async () => {
      const db = await pg.open();
      let queries = 0;
      const counted = new Proxy(db, {
        get(target, prop, receiver) {
          if (prop === 'query') {
            return (...args: Parameters<PostgresDatabase['query']>) => {
              queries++;
              return target.query(...args);
            };
          }
          const value: unknown = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      try {
        const store = createPostgresDeliveryStore(counted);
        await store.apply([pending(key(1)), delivered(key(2)), dead(key(3))]);
        queries = 0;
        const statuses = ['pending', 'delivered', 'dead', undefined];
        const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => store.statusOf([key(1 + (i % 4))])));
        expect(answers).toEqual(Array.from({ length: 40 }, (_, i) => [statuses[i % 4]]));
        expect(queries).toBe(1);
        expect(await Promise.all([store.statusOf([key(2), key(4)]), store.statusOf([])])).toEqual([
          ['delivered', undefined],
          [],
        ]);
        expect(queries).toBe(2);
      } finally {
        await db.close();
      }
    });

    it('writes runs of one kind together yet keeps the batch order, also for a key repeated in a run', async () => {
      const h = await openAt();
      try {
        await h.store.apply([
          pending(key(1), { attempts: 1 }),
          pending(key(2), { attempts: 1 }),
          pending(key(1), { attempts: 2, nextAt: 7 }),
          trace(key(1), 'attempt', { attempt: 1 }),
          trace(key(1), 'retry-scheduled', { attempt: 1 }),
          delivered(key(2)),
          pending(key(2)),
          delivered(key(3)),
          trace(key(1), 'attempt', { attempt: 2 }),
        ]);
        expect((await h.store.pending()).map((p) => [p.key.id, p.attempts, p.nextAt])).toEqual([['ev-1', 2, 7]]);
        expect(await h.store.statusOf([key(2), key(3)])).toEqual(['delivered', 'delivered']);
        expect((await h.store.trace('ev-1')).map((e) => [e.kind, e.attempt])).toEqual([
          ['attempt', 1],
          ['retry-scheduled', 1],
          ['attempt', 2],
        ]);
      } finally {
        await h.close();
      }
    });

    it('stores a fractional millisecond time rather than failing the batch', async () => {
      const h = await openAt();
      try {
        await h.store.apply([pending(key(1), { nextAt: 1000.4 }), trace(key(1), 'matched', { at: 2000.6 })]);
        expect((await h.store.pending()).map((p) => p.nextAt)).toEqual([1000]);
        expect((await h.store.trace('ev-1')).map((e) => e.at)).toEqual([2001]);
      } finally {
        await h.close();
      }
    });
  });

  describe('PostgreSQL delivery store errors', () => {
    it('reports a failing statement as E_BACKEND with the PostgreSQL error as its cause, and rolls the batch back', async () => {
      const db = await pg.open();
      try {
        const store = createPostgresDeliveryStore(db);
        await db.query('DROP TABLE trace');
        const err = await store.apply([pending(key(1)), trace(key(1), 'matched')]).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: ErrorCode.BACKEND, retryable: true });
        expect((err as Error).message).toMatch(/record delivery changes.*trace/);
        expect((err as Error).cause).toBeInstanceOf(Error);
        expect(await store.statusOf([key(1)])).toEqual([undefined]);
      } finally {
        await db.close();
      }
    });

    it('stamps pending rows with the injected clock', async () => {
      const db = await pg.open();
      try {
        await createPostgresDeliveryStore(db, { now: () => 12345 }).apply([pending(key(1))]);
        expect((await db.query('SELECT updated_at FROM deliveries')).rows).toEqual([{ updated_at: 12345 }]);
      } finally {
        await db.close();
      }
    });
  });
}
