/** @module SqliteConditionStore: the ConditionStore conformance suite on SQLite files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createSqliteConditionStore } from '../../src/store/sqlite/condition-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { type ConditionStoreHarness, runConditionStoreConformance } from '../conformance/condition-store.js';

let dir: string;
let files = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-conditions-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function openAt(path: string, clock: Clock): ConditionStoreHarness {
  const db = openStateDatabase({ path, fsync: 'normal' });
  return {
    store: createSqliteConditionStore(db, clock),
    async reopen() {
      db.close();
      return openAt(path, clock);
    },
    close: async () => void db.close(),
  };
}

runConditionStoreConformance({
  name: 'SQLite',
  create: async (clock) => {
    files += 1;
    return openAt(join(dir, `state-${files}.db`), clock);
  },
});
