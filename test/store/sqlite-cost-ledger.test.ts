/** @module SqliteCostLedger: the CostLedger conformance suite on a SQLite file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createSqliteCostLedger } from '../../src/store/sqlite/cost-ledger.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { type CostLedgerHarness, runCostLedgerConformance } from '../conformance/cost-ledger.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-ledger-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function openAt(path: string): CostLedgerHarness {
  const db = openStateDatabase({ path, fsync: 'normal' });
  return {
    ledger: createSqliteCostLedger(db),
    clear: async () =>
      void db.exec(
        'DELETE FROM cost_intervals; DELETE FROM cost_changes; DELETE FROM cost_causes; DELETE FROM finops_state',
      ),
    async reopen() {
      db.close();
      return openAt(path);
    },
    close: async () => void db.close(),
  };
}

runCostLedgerConformance({ name: 'SQLite', create: async () => openAt(join(dir, 'state.db')) });
