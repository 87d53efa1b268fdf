import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import { type EventLogHarness, runEventLogConformance } from '../conformance/event-log.js';

for (const writerThread of [false, true]) {
  runEventLogConformance({
    name: writerThread ? 'SQLite, writer thread' : 'SQLite, inline writer',
    create: async (options) => {
      const dir = mkdtempSync(join(tmpdir(), 'homeostat-log-'));
      const path = join(dir, 'events.db');
      const make = async (): Promise<EventLogHarness> => ({
        log: await createSqliteEventLog({ ...options, path, writerThread }),
        reopen: make,
        destroy: async () => rmSync(dir, { recursive: true, force: true }),
      });
      return make();
    },
  });
}
