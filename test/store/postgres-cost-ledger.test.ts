/** @module PostgresCostLedger: the CostLedger conformance suite (closed costs summed in SQL against the core's integration). */
import type { PostgresDatabase } from '../../src/store/postgres/database.js';
import { createPostgresCostLedger } from '../../src/store/postgres/cost-ledger.js';
import { type CostLedgerHarness, runCostLedgerConformance } from '../conformance/cost-ledger.js';
import { describeSkipped, postgresTestEnv } from './postgres-harness.js';

const env = await postgresTestEnv();

if (!env.available) {
  describeSkipped('PostgreSQL cost ledger', env.reason);
} else {
  const pg = env.database();
  const wrap = (db: PostgresDatabase): CostLedgerHarness => ({
    ledger: createPostgresCostLedger(db),
    clear: async () => void (await db.query('TRUNCATE cost_intervals, cost_changes, cost_causes, finops_state')),
    async reopen() {
      await db.close();
      return wrap(await pg.open({ schema: db.schema }));
    },
    close: () => db.close(),
  });
  runCostLedgerConformance({ name: 'PostgreSQL', create: async () => wrap(await pg.open()) });
}
