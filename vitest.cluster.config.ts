// The cluster pass: the end-to-end suites again, with every test server's log on NATS JetStream and
// its state on PostgreSQL (test/cluster/backends.ts). `npm run test:cluster`; part of `npm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/api/**/*.test.ts',
      'test/infra/**/*.test.ts',
      'test/scenarios/{healing,compliance,crash-loop}.test.ts',
    ],
    exclude: ['test/api/resources-paging.test.ts'],
    globalSetup: ['test/cluster/global-setup.ts'],
    env: { HOMEOSTAT_TEST_BACKENDS: 'cluster' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
