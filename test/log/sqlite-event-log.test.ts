import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import { type EventLogHarness, runEventLogConformance } from '../conformance/event-log.js';

runEventLogConformance({
  name: 'SQLite',
  create: async (options) => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-log-'));
    const path = join(dir, 'events.db');
    const make = (): EventLogHarness => ({
      log: createSqliteEventLog({ ...options, path }),
      reopen: async () => make(),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    });
    return make();
  },
});
