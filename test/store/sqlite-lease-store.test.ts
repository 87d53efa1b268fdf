/** @module SqliteLeaseStore: the LeaseStore conformance suite on SQLite files, two connections sharing one file and a fake clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { createSqliteLeaseStore } from '../../src/store/sqlite/lease-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { type LeaseStoreHarness, runLeaseStoreConformance } from '../conformance/lease-store.js';

let dir: string;
let files = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-leases-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function openAt(path: string, clock: ManualClock): LeaseStoreHarness {
  const dbs: SqliteDatabase[] = [openStateDatabase({ path, fsync: 'normal' })];
  const closeAll = () => {
    for (const db of dbs) if (db.open) db.close();
  };
  return {
    store: createSqliteLeaseStore(dbs[0]!, clock),
    async other() {
      const db = openStateDatabase({ path, fsync: 'normal' });
      dbs.push(db);
      return createSqliteLeaseStore(db, clock);
    },
    async elapse(ms) {
      clock.advance(ms);
    },
    async reopen() {
      closeAll();
      return openAt(path, clock);
    },
    close: async () => closeAll(),
  };
}

runLeaseStoreConformance({
  name: 'SQLite',
  create: async () => {
    files += 1;
    return openAt(join(dir, `state-${files}.db`), createManualClock());
  },
});
