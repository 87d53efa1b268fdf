/**
 * @module The WorkflowStore and ApprovalStore conformance suites: every backend runs them by
 * passing a factory, `runWorkflowStoreConformance({ name, create })` and
 * `runApprovalStoreConformance({ name, create })`. They check what src/ports/workflow-store.ts
 * promises; the workflow manifests (a RuleStore) run the RuleStore suite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import type {
  ApprovalStore,
  RunRecord,
  StepRecord,
  StoredApproval,
  WorkflowStore,
} from '../../src/ports/workflow-store.js';

export interface WorkflowStoreHarness {
  readonly store: WorkflowStore;
  /** Closes this store and opens the same storage again; for restart checks. */
  reopen(): Promise<WorkflowStoreHarness>;
  close(): Promise<void>;
}

export interface WorkflowStoreConformanceOptions {
  readonly name: string;
  /** A fresh, empty store for each test, stamping manifests with `clock`. */
  readonly create: (clock: ManualClock) => Promise<WorkflowStoreHarness>;
}

export interface ApprovalStoreHarness {
  readonly store: ApprovalStore;
  reopen(): Promise<ApprovalStoreHarness>;
  close(): Promise<void>;
}

export interface ApprovalStoreConformanceOptions {
  readonly name: string;
  readonly create: () => Promise<ApprovalStoreHarness>;
}

export const run: RunRecord = {
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

export const event = (id: string): CloudEvent => ({ specversion: '1.0', id, source: '/s', type: 't' });

const step = (path: string, overrides: Partial<StepRecord> = {}): StepRecord => ({
  runId: 'run-1',
  path,
  kind: 'action',
  status: 'running',
  attempts: 0,
  startedAt: 1,
  order: 1,
  ...overrides,
});

/** Defines vitest blocks that check the WorkflowStore contract (runs, steps, outbox). */
export function runWorkflowStoreConformance(options: WorkflowStoreConformanceOptions): void {
  describe(`WorkflowStore conformance: ${options.name}`, () => {
    let harness: WorkflowStoreHarness;
    let store: WorkflowStore;

    beforeEach(async () => {
      harness = await options.create(createManualClock());
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    it('creates a run once, with its events in the outbox, and finds it among the active runs', async () => {
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

    it('returns a run with every field, and leaves out the optional ones it was not given', async () => {
      const full: RunRecord = {
        ...run,
        id: 'run-full',
        event: { ...event('trigger'), data: { n: [1, 'ü', null] } },
        input: null,
        status: 'succeeded',
        endedAt: 9000,
        error: { code: 'E_Y', message: 'y', details: { a: 1 } },
      };
      const bare: RunRecord = {
        id: 'run-bare',
        workflow: 'wf',
        generation: 2,
        manifest: {},
        input: 'text',
        status: 'running',
        startedAt: 5,
        startOffset: 0,
      };
      await store.createRun(full, []);
      await store.createRun(bare, []);
      expect(await store.getRun('run-full')).toEqual(full);
      expect(await store.getRun('run-bare')).toEqual(bare);
      expect(await store.getRun('nope')).toBeUndefined();
    });

    it('lists runs newest first, filtered by workflow and status, at most limit', async () => {
      await store.createRun({ ...run, id: 'r1', startedAt: 10 }, []);
      await store.createRun({ ...run, id: 'r2', startedAt: 30, workflow: 'other' }, []);
      await store.createRun({ ...run, id: 'r3', startedAt: 20, status: 'succeeded' }, []);
      await store.createRun({ ...run, id: 'r0', startedAt: 30 }, []);
      expect((await store.listRuns()).map((r) => r.id)).toEqual(['r0', 'r2', 'r3', 'r1']);
      expect((await store.listRuns({ workflow: 'wf' })).map((r) => r.id)).toEqual(['r0', 'r3', 'r1']);
      expect((await store.listRuns({ status: 'succeeded' })).map((r) => r.id)).toEqual(['r3']);
      expect((await store.listRuns({ limit: 2 })).map((r) => r.id)).toEqual(['r0', 'r2']);
      expect((await store.listRuns({ limit: 0 })).map((r) => r.id)).toEqual(['r0']);
    });

    it('lists active runs (running and compensating) oldest first', async () => {
      await store.createRun({ ...run, id: 'b', startedAt: 20 }, []);
      await store.createRun({ ...run, id: 'a', startedAt: 30, status: 'compensating' }, []);
      await store.createRun({ ...run, id: 'c', startedAt: 10, status: 'cancelled' }, []);
      await store.createRun({ ...run, id: 'd', startedAt: 5 }, []);
      expect((await store.activeRuns()).map((r) => r.id)).toEqual(['d', 'b', 'a']);
    });

    it('replaces a step record and keeps records in start order', async () => {
      await store.createRun(run, []);
      const base = { runId: 'run-1', kind: 'action', attempts: 0, startedAt: 1 };
      await store.putStep({ ...base, path: 'b', status: 'running', order: 2 }, []);
      await store.putStep({ ...base, path: 'a', status: 'running', order: 1, wakeAt: 9, state: { x: 1 } }, []);
      const done = {
        ...base,
        path: 'a',
        status: 'succeeded' as const,
        order: 1,
        attempts: 1,
        output: { ok: true },
        endedAt: 3,
        doneOrder: 1,
      };
      await store.putStep(done, []);
      const steps = await store.steps('run-1');
      expect(steps.map((s) => [s.path, s.status])).toEqual([
        ['a', 'succeeded'],
        ['b', 'running'],
      ]);
      expect(steps[0]).toEqual(done);
      expect(await store.steps('run-2')).toEqual([]);
    });

    it('returns a step with every field', async () => {
      await store.createRun(run, []);
      const full = step('deploy/compensate', {
        status: 'failed',
        input: { replicas: 3 },
        output: [1, 2],
        error: { code: 'E_HTTP_STATUS', message: '503', details: { status: 503 } },
        attempts: 4,
        endedAt: 50,
        wakeAt: 60,
        state: { approval: 'apr-1' },
        order: 3,
        doneOrder: 2,
      });
      await store.putStep(full, []);
      expect(await store.steps('run-1')).toEqual([full]);
    });

    it('orders steps started together by path', async () => {
      await store.createRun(run, []);
      for (const path of ['c', 'a', 'b']) await store.putStep(step(path, { order: 4 }), []);
      expect((await store.steps('run-1')).map((s) => s.path)).toEqual(['a', 'b', 'c']);
    });

    it('keeps the outbox in write order across runs, steps and updates, and reads at most limit', async () => {
      await store.createRun(run, [event('e1'), event('e2')]);
      await store.putStep(step('a'), [event('e3')]);
      await store.updateRun('run-1', { status: 'succeeded', endedAt: 9 }, [event('e4'), event('e5')]);
      await store.putStep(step('b', { order: 2 }), []);
      const all = await store.pendingEvents(100);
      expect(all.map((p) => p.event.id)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
      expect(all.map((p) => p.seq)).toEqual([...all.map((p) => p.seq)].sort((x, y) => x - y));
      expect(all[0]!.event).toEqual(event('e1'));
      expect((await store.pendingEvents(2)).map((p) => p.event.id)).toEqual(['e1', 'e2']);
      await store.removeEvents(all[2]!.seq);
      expect((await store.pendingEvents(100)).map((p) => p.event.id)).toEqual(['e4', 'e5']);
      await store.removeEvents(all[4]!.seq);
      expect(await store.pendingEvents(100)).toEqual([]);
    });

    it('writes concurrent outbox writers in call order, losing none', async () => {
      await store.createRun(run, []);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.putStep(step(`s${i}`, { order: i }), [event(`e${i}`)])),
      );
      expect((await store.pendingEvents(100)).map((p) => p.event.id)).toEqual(
        Array.from({ length: 20 }, (_, i) => `e${i}`),
      );
    });

    it('keeps runs, steps and the outbox across a reopen', async () => {
      await store.createRun(run, [event('e1')]);
      await store.putStep(step('a', { state: { n: 1 } }), [event('e2')]);
      const before = {
        run: await store.getRun('run-1'),
        steps: await store.steps('run-1'),
        outbox: await store.pendingEvents(10),
      };
      harness = await harness.reopen();
      store = harness.store;
      expect(await store.getRun('run-1')).toEqual(before.run);
      expect(await store.steps('run-1')).toEqual(before.steps);
      expect(await store.pendingEvents(10)).toEqual(before.outbox);
      await store.putStep(step('b', { order: 2 }), [event('e3')]);
      const after = await store.pendingEvents(10);
      expect(after[2]!.seq).toBeGreaterThan(before.outbox[1]!.seq);
    });
  });
}

const approval = (id: string, overrides: Partial<StoredApproval> = {}): StoredApproval => ({
  id,
  kind: 'workflow',
  ref: 'r',
  summary: 's',
  payload: { p: 1 },
  status: 'pending',
  requestedAt: 1,
  handled: false,
  ...overrides,
});

/** Defines vitest blocks that check the ApprovalStore contract. */
export function runApprovalStoreConformance(options: ApprovalStoreConformanceOptions): void {
  describe(`ApprovalStore conformance: ${options.name}`, () => {
    let harness: ApprovalStoreHarness;
    let store: ApprovalStore;

    beforeEach(async () => {
      harness = await options.create();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    it('stores approvals and decides a pending one only once', async () => {
      const a = approval('apr-1', { expiresAt: 10 });
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

    it('returns an approval with every field, and without the optional ones it was not given', async () => {
      const full = approval('full', {
        payload: { nested: { list: [1, 'ü', null] } },
        expiresAt: 99,
        status: 'rejected',
        decidedAt: 50,
        decidedBy: 'alice',
        comment: 'not now',
        handled: true,
      });
      await store.insert(full);
      await store.insert(approval('bare'));
      expect(await store.get('full')).toEqual(full);
      expect(await store.get('bare')).toEqual(approval('bare'));
      expect(await store.get('nope')).toBeUndefined();
    });

    it('records the decision with its comment, and refuses an unknown id', async () => {
      await store.insert(approval('a'));
      expect(await store.decide('a', { status: 'expired', at: 7, by: 'homeostat', comment: 'timed out' })).toBe(true);
      expect(await store.get('a')).toMatchObject({
        status: 'expired',
        decidedAt: 7,
        decidedBy: 'homeostat',
        comment: 'timed out',
        handled: false,
      });
      expect(await store.decide('nope', { status: 'approved', at: 1, by: 'me' })).toBe(false);
    });

    it('lists newest first, filtered by status, kind and ref, at most limit', async () => {
      await store.insert(approval('a', { requestedAt: 10, kind: 'action', ref: 'x' }));
      await store.insert(approval('b', { requestedAt: 30 }));
      await store.insert(approval('c', { requestedAt: 20, ref: 'x' }));
      await store.insert(approval('d', { requestedAt: 30 }));
      await store.decide('c', { status: 'approved', at: 40, by: 'me' });
      expect((await store.list()).map((a) => a.id)).toEqual(['b', 'd', 'c', 'a']);
      expect((await store.list({ kind: 'action' })).map((a) => a.id)).toEqual(['a']);
      expect((await store.list({ ref: 'x' })).map((a) => a.id)).toEqual(['c', 'a']);
      expect((await store.list({ status: 'pending', kind: 'workflow' })).map((a) => a.id)).toEqual(['b', 'd']);
      expect((await store.list({ limit: 1 })).map((a) => a.id)).toEqual(['b']);
    });

    it('hands over decided requests of a kind not yet handled, oldest decision first', async () => {
      for (const id of ['a', 'b', 'c', 'd'])
        await store.insert(approval(id, { kind: id === 'd' ? 'action' : 'workflow' }));
      await store.decide('b', { status: 'approved', at: 5, by: 'me' });
      await store.decide('a', { status: 'rejected', at: 9, by: 'me' });
      await store.decide('d', { status: 'approved', at: 1, by: 'me' });
      expect((await store.unhandled('workflow')).map((a) => a.id)).toEqual(['b', 'a']);
      expect((await store.unhandled('action')).map((a) => a.id)).toEqual(['d']);
      await store.markHandled('b');
      expect((await store.unhandled('workflow')).map((a) => a.id)).toEqual(['a']);
    });

    it('finds pending requests whose expiry has come, earliest first, and not decided ones', async () => {
      await store.insert(approval('late', { expiresAt: 30 }));
      await store.insert(approval('early', { expiresAt: 10 }));
      await store.insert(approval('never'));
      await store.insert(approval('decided', { expiresAt: 5 }));
      await store.decide('decided', { status: 'approved', at: 2, by: 'me' });
      expect((await store.expired(30)).map((a) => a.id)).toEqual(['early', 'late']);
      expect((await store.expired(29)).map((a) => a.id)).toEqual(['early']);
    });

    it('keeps approvals across a reopen', async () => {
      await store.insert(approval('a', { expiresAt: 3 }));
      await store.decide('a', { status: 'approved', at: 2, by: 'me', comment: 'ok' });
      const before = await store.get('a');
      harness = await harness.reopen();
      store = harness.store;
      expect(await store.get('a')).toEqual(before);
    });
  });
}
