// The cluster pass: the engine, workflow, policy and end-to-end suites again, with every harness's
// log on NATS JetStream and its state on PostgreSQL (test/cluster/backends.ts swaps the backend
// factory). `npm run test:cluster`; part of `npm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      // Rules, delivery and retries, and rule conditions across kill -9, on the engine harness
      // (test/engine/harness.ts). conditions.test.ts and conditions-restart.test.ts are left out:
      // they move the log's append times with a manual clock, and JetStream stamps its own.
      'test/engine/{delivery,conditions-crash}.test.ts',
      // Workflows (test/workflow/harness.ts) and policies (test/finops/harness.ts, test/api).
      'test/workflow/{engine,durability,api}.test.ts',
      'test/finops/{policies,tracker}.test.ts',
      // Every API test server (test/api/harness.ts and the harnesses that open their own backends).
      'test/api/**/*.test.ts',
      'test/infra/**/*.test.ts',
      'test/scenarios/{healing,compliance,crash-loop}.test.ts',
    ],
    exclude: [
      // Pages the providers' resources, which no store holds, over a fleet of thousands of
      // simulated instances: nothing in it depends on the backends.
      'test/api/resources-paging.test.ts',
      // Sets the log's append times with a manual clock; JetStream stamps its own.
      'test/api/series.test.ts',
    ],
    globalSetup: ['test/cluster/global-setup.ts'],
    env: { HOMEOSTAT_TEST_BACKENDS: 'cluster' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
