import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { createSqliteSchemaStore } from '../../src/store/sqlite/schema-store.js';
import { openStateDatabase, STATE_MIGRATIONS } from '../../src/store/sqlite/state.js';
import { createSqliteTokenStore } from '../../src/store/sqlite/token-store.js';
import { runSchemaStoreConformance } from '../conformance/schema-store.js';
import { runTokenStoreConformance } from '../conformance/token-store.js';

let dir: string;
let files = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-state-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function nextPath(): string {
  files += 1;
  return join(dir, `state-${files}.db`);
}

runSchemaStoreConformance({
  name: 'SQLite',
  create: async () => {
    const db = openStateDatabase({ path: nextPath(), fsync: 'normal' });
    return { store: createSqliteSchemaStore(db), close: async () => void db.close() };
  },
});

runTokenStoreConformance({
  name: 'SQLite',
  create: async () => {
    const db = openStateDatabase({ path: nextPath(), fsync: 'always' });
    return { store: createSqliteTokenStore(db), close: async () => void db.close() };
  },
});

describe('SQLite state database', () => {
  it('brings a new file to the latest migration', () => {
    const db = openStateDatabase({ path: nextPath(), fsync: 'normal' });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(STATE_MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('keeps schemas and tokens after closing and reopening the file', async () => {
    const path = nextPath();
    const clock = createManualClock();
    const first = openStateDatabase({ path, fsync: 'always' });
    const schemas = createSqliteSchemaStore(first, clock);
    await schemas.put({ type: 'order.created', schema: { type: 'object' }, mode: 'enforce' });
    clock.advance(1000);
    await schemas.put({ type: 'order.created', schema: { type: ['object', 'null'] }, mode: 'warn' });
    const token = { id: 't1', name: 'ci', scopes: ['publish' as const], hash: 'cd'.repeat(32), createdAt: 5 };
    await createSqliteTokenStore(first).add(token);
    first.close();

    const second = openStateDatabase({ path, fsync: 'always' });
    try {
      const reopened = createSqliteSchemaStore(second);
      expect(await reopened.versions('order.created')).toEqual([
        { type: 'order.created', version: 1, mode: 'warn', schema: { type: 'object' }, createdAt: clock.now() - 1000 },
        {
          type: 'order.created',
          version: 2,
          mode: 'warn',
          schema: { type: ['object', 'null'] },
          createdAt: clock.now(),
        },
      ]);
      expect(await createSqliteTokenStore(second).find('t1')).toEqual(token);
    } finally {
      second.close();
    }
  });

  it('reports a failing statement as E_BACKEND', async () => {
    const db = openStateDatabase({ path: nextPath(), fsync: 'normal' });
    const store = createSqliteSchemaStore(db);
    db.close();
    await expect(store.list()).rejects.toMatchObject({ code: 'E_BACKEND' });
  });
});
