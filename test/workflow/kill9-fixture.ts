/**
 * @module A child process for the workflow kill -9 test: opens the log and state in `<dataDir>`,
 * resumes the runs there, applies the test workflow and starts run `run-kill9` unless it exists.
 * Its `append` action appends `<idempotency key>` as a line to `<outFile>` (the step's effect).
 * SIGTERM closes it cleanly. Usage: node --import tsx kill9-fixture.ts <dataDir> <outFile>
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createTargetRegistry } from '../../src/actions/registry.js';
import { systemClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { createApprovals } from '../../src/engine/approvals.js';
import { createWorkflowService } from '../../src/engine/workflow/service.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import type { Target } from '../../src/ports/target.js';
import { createSqliteApprovalStore } from '../../src/store/sqlite/approval-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { createSqliteWorkflowStore } from '../../src/store/sqlite/workflow-store.js';

const KILL9_RUN_ID = 'run-kill9';
const KILL9_WAIT_MS = 3_000;

const kill9Workflow = {
  apiVersion: 'homeostat/v1',
  kind: 'Workflow',
  metadata: { name: 'kill9' },
  spec: {
    steps: [
      { name: 'one', action: 'append' },
      { name: 'two', action: 'append' },
      { name: 'pause', wait: `${KILL9_WAIT_MS}ms` },
      {
        name: 'fan',
        parallel: [
          [{ name: 'three', action: 'append' }],
          [
            { name: 'nap', wait: '200ms' },
            { name: 'four', action: 'append' },
          ],
        ],
      },
      { name: 'ready', waitForEvent: { match: { type: ['kill9.ready'], subject: ['${ input.instance }'] } } },
      { name: 'five', action: 'append', with: { note: '${ steps.ready.output.event.id }' } },
    ],
  },
};

async function main(dataDir: string, outFile: string): Promise<void> {
  const clock = systemClock;
  const log = await createSqliteEventLog({ path: join(dataDir, 'events.db'), clock, writerThread: false });
  const db = openStateDatabase({ path: join(dataDir, 'state.db'), fsync: 'normal' });
  const publish = async (events: readonly CloudEvent[]) => log.append(events);
  const registry = new Map<string, Target>(
    createTargetRegistry({ logger: pino({ level: 'silent' }), publish, clock, exec: { allow: {} } }),
  );
  registry.set('append', {
    action: 'append',
    validate: () => [],
    deliver: async (req) => {
      appendFileSync(outFile, `${req.idempotencyKey}\n`);
      return { ok: true, detail: { line: req.idempotencyKey } };
    },
  });
  const approvals = createApprovals({ store: createSqliteApprovalStore(db), clock });
  const service = createWorkflowService({
    store: createSqliteWorkflowStore(db, clock),
    log,
    targets: () => registry,
    approvals,
    publish,
    clock,
    pollMs: 50,
    onError: (err) => process.stderr.write(`workflow error: ${String(err)}\n`),
  });
  await service.start();
  await service.apply(kill9Workflow);
  await service.startRun('kill9', { instance: 'web-9' }, { runId: KILL9_RUN_ID });
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void (async () => {
      await service.close();
      approvals.close();
      await log.close();
      db.close();
      process.exit(0);
    })();
  });
}

const [dataDir, outFile] = process.argv.slice(2);
if (dataDir && outFile) {
  main(dataDir, outFile).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
