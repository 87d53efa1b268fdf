import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { RunRecord } from '../../src/ports/workflow-store.js';
import { createSqliteApprovalStore } from '../../src/store/sqlite/approval-store.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { createSqliteWorkflowStore } from '../../src/store/sqlite/workflow-store.js';

let dir: string;
let db: SqliteDatabase;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-wfstore-'));
  db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const run: RunRecord = {
  id: 'run-1',
  workflow: 'wf',
  generation: 1,
  manifest: { kind: 'Workflow' },
  input: { a: 1 },
  cause: 'ev-1',
  status: 'running',
  startedAt: 1000,
  deadline: 5000,
  startOffset: 7,
};
const event = (id: string) => ({ specversion: '1.0', id, source: '/s', type: 't' }) as CloudEvent;

describe('SQLite workflow store', () => {
  it('creates a run once, with its events in the outbox, and finds it among the active runs', async () => {
    const store = createSqliteWorkflowStore(db, createManualClock());
    expect(await store.createRun(run, [event('e1')])).toBe(true);
    expect(await store.createRun({ ...run, input: 'other' }, [event('e2')])).toBe(false);
    expect(await store.getRun('run-1')).toEqual(run);
    expect((await store.activeRuns()).map((r) => r.id)).toEqual(['run-1']);
    expect((await store.pendingEvents(10)).map((p) => p.event.id)).toEqual(['e1']);
    await store.updateRun(
      'run-1',
      { status: 'failed', error: { code: 'E_X', message: 'x', step: 's' }, endedAt: 2000 },
      [event('e3')],
    );
    expect(await store.activeRuns()).toEqual([]);
    expect(await store.listRuns({ workflow: 'wf', status: 'failed' })).toMatchObject([
      { id: 'run-1', endedAt: 2000, error: { step: 's' } },
    ]);
    const pending = await store.pendingEvents(10);
    await store.removeEvents(pending[0]!.seq);
    expect((await store.pendingEvents(10)).map((p) => p.event.id)).toEqual(['e3']);
  });

  it('replaces a step record and keeps records in start order', async () => {
    const store = createSqliteWorkflowStore(db);
    await store.createRun(run, []);
    const base = { runId: 'run-1', kind: 'action', attempts: 0, startedAt: 1 };
    await store.putStep({ ...base, path: 'b', status: 'running', order: 2 }, []);
    await store.putStep({ ...base, path: 'a', status: 'running', order: 1, wakeAt: 9, state: { x: 1 } }, []);
    await store.putStep(
      {
        ...base,
        path: 'a',
        status: 'succeeded',
        order: 1,
        attempts: 1,
        output: { ok: true },
        endedAt: 3,
        doneOrder: 1,
      },
      [],
    );
    const steps = await store.steps('run-1');
    expect(steps.map((s) => [s.path, s.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'running'],
    ]);
    expect(steps[0]).toEqual({
      ...base,
      path: 'a',
      status: 'succeeded',
      order: 1,
      attempts: 1,
      output: { ok: true },
      endedAt: 3,
      doneOrder: 1,
    });
  });

  it('stores approvals and decides a pending one only once', async () => {
    const store = createSqliteApprovalStore(db);
    const a = {
      id: 'apr-1',
      kind: 'workflow',
      ref: 'r',
      summary: 's',
      payload: { p: 1 },
      status: 'pending' as const,
      requestedAt: 1,
      expiresAt: 10,
      handled: false,
    };
    expect(await store.insert(a)).toBe(true);
    expect(await store.insert(a)).toBe(false);
    expect((await store.expired(9)).length).toBe(0);
    expect((await store.expired(10)).map((x) => x.id)).toEqual(['apr-1']);
    expect(await store.decide('apr-1', { status: 'approved', at: 5, by: 'me' })).toBe(true);
    expect(await store.decide('apr-1', { status: 'rejected', at: 6, by: 'you' })).toBe(false);
    expect((await store.unhandled('workflow')).map((x) => x.decidedBy)).toEqual(['me']);
    await store.markHandled('apr-1');
    expect(await store.unhandled('workflow')).toEqual([]);
    expect(await store.list({ ref: 'r' })).toMatchObject([
      { id: 'apr-1', status: 'approved', handled: true, payload: { p: 1 } },
    ]);
  });
});
