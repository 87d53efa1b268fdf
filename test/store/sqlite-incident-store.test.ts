/** @module SqliteIncidentStore: the IncidentStore conformance suite on SQLite files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createSqliteIncidentStore } from '../../src/store/sqlite/incident-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { type IncidentStoreHarness, runIncidentStoreConformance } from '../conformance/incident-store.js';

let dir: string;
let files = 0;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-incidents-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function openAt(path: string): IncidentStoreHarness {
  const db = openStateDatabase({ path, fsync: 'normal' });
  return {
    store: createSqliteIncidentStore(db),
    async reopen() {
      db.close();
      return openAt(path);
    },
    close: async () => void db.close(),
  };
}

runIncidentStoreConformance({
  name: 'SQLite',
  create: async () => {
    files += 1;
    return openAt(join(dir, `state-${files}.db`));
  },
});
