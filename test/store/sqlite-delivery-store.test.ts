import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { createSqliteDeliveryStore } from '../../src/store/sqlite/delivery-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import {
  type DeliveryStoreHarness,
  key,
  pending,
  runDeliveryStoreConformance,
  trace,
} from '../conformance/delivery-store.js';

let dir: string;
let files = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-deliveries-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function openAt(path: string): DeliveryStoreHarness {
  const db = openStateDatabase({ path, fsync: 'normal' });
  return {
    store: createSqliteDeliveryStore(db),
    async reopen() {
      db.close();
      return openAt(path);
    },
    close: async () => void db.close(),
  };
}

runDeliveryStoreConformance({
  name: 'SQLite',
  create: async () => {
    files += 1;
    return openAt(join(dir, `state-${files}.db`));
  },
});

describe('SQLite delivery store', () => {
  it('reports a failing statement as E_BACKEND with the SQLite error as its cause', async () => {
    const db = openStateDatabase({ path: join(dir, 'broken.db'), fsync: 'normal' });
    try {
      const store = createSqliteDeliveryStore(db);
      db.exec('DROP TABLE trace');
      const err = await store.apply([trace(key(1), 'matched')]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.BACKEND, retryable: true });
      expect((err as Error).message).toMatch(/record delivery changes.*trace/);
      expect((err as Error).cause).toBeInstanceOf(Error);
    } finally {
      db.close();
    }
  });

  it('reports creating a store on a closed database as E_CLOSED', () => {
    const db = openStateDatabase({ path: join(dir, 'closed.db'), fsync: 'normal' });
    db.close();
    expect(() => createSqliteDeliveryStore(db)).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
  });

  it('stamps pending rows with the injected clock', async () => {
    const db = openStateDatabase({ path: join(dir, 'clock.db'), fsync: 'normal' });
    try {
      const store = createSqliteDeliveryStore(db, { now: () => 12345 });
      await store.apply([pending(key(1))]);
      expect(db.prepare('SELECT updated_at FROM deliveries').pluck().get()).toBe(12345);
    } finally {
      db.close();
    }
  });
});
