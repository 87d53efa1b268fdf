/**
 * @module Workflow durability within one process: stopping the service and starting a new one on
 * the same database resumes runs (waits with their remaining time, wait-for-event from the stored
 * offset, started actions again with the same key, approvals decided in between); approvals on a
 * manual clock expire.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { createApprovals } from '../../src/engine/approvals.js';
import { type Harness, startHarness, until, workflow } from './harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function stepOf(harness: Harness, runId: string, path: string): Promise<any> {
  const run: any = await harness.service.run(runId);
  return run?.steps.find((s: any) => s.path === path);
}

describe('resuming runs after a restart', () => {
  it('resumes a wait with its remaining time by the clock and never repeats completed steps', async () => {
    const clock = createManualClock();
    h = await startHarness({ clock, pollMs: 5 });
    await h.service.apply(
      workflow('pause', [
        { name: 'before', action: 'test' },
        { name: 'pause', wait: '1h' },
        { name: 'after', action: 'test' },
      ]),
    );
    const { run } = await h.service.startRun('pause', {});
    const id = String(run.id);
    const waiting = await until(async () => {
      const s = await stepOf(h!, id, 'pause');
      return s?.status === 'waiting' ? s : undefined;
    }, 'the wait');
    expect(Date.parse(waiting.wakeAt) - Date.parse(waiting.startedAt)).toBe(3_600_000);
    clock.advance(30 * 60_000);
    await h.restart();
    clock.advance(29 * 60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect((await stepOf(h, id, 'pause')).status).toBe('waiting');
    clock.advance(60_001);
    await until(async () => ((await h!.service.run(id)) as any)?.status === 'succeeded', 'the run to finish');
    expect(h.calls.map((c) => c.key)).toEqual([`${id}/before`, `${id}/after`]);
  });

  it('runs a started but unfinished action again after a restart, with the same idempotency key', async () => {
    h = await startHarness();
    await h.service.apply(workflow('interrupted', [{ name: 'slow', action: 'test', with: { blockFirst: true } }]));
    const { run } = await h.service.startRun('interrupted', {});
    const id = String(run.id);
    await until(() => h!.calls.length === 1, 'the first attempt');
    await h.restart();
    await until(async () => ((await h!.service.run(id)) as any)?.status === 'succeeded', 'the run to finish');
    expect(h.calls.map((c) => [c.key, c.attempt])).toEqual([
      [`${id}/slow`, 1],
      [`${id}/slow`, 2],
    ]);
    expect((await stepOf(h, id, 'slow')).attempts).toBe(2);
  });

  it('sees an event appended while the service was down when a wait for it resumes', async () => {
    h = await startHarness();
    await h.service.apply(workflow('await', [{ name: 'ready', waitForEvent: { match: { type: ['svc.ready'] } } }]));
    const { run } = await h.service.startRun('await', {});
    const id = String(run.id);
    await until(async () => (await stepOf(h!, id, 'ready'))?.status === 'waiting', 'the wait');
    await h.stopService();
    await h.append({ id: 'r1', type: 'svc.ready' });
    await h.restart();
    await until(async () => ((await h!.service.run(id)) as any)?.status === 'succeeded', 'the run to finish');
    expect((await stepOf(h, id, 'ready')).output.event.id).toBe('r1');
  });

  it('continues from a decision taken while the service was down', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('gated', [
        { name: 'gate', approval: { summary: 'Scale ${ input.group }?' } },
        { name: 'go', action: 'test' },
      ]),
    );
    const { run } = await h.service.startRun('gated', { group: 'web' });
    const id = String(run.id);
    const [pending] = await until(async () => {
      const list = await h!.approvals.list({ status: 'pending' });
      return list.length > 0 ? list : undefined;
    }, 'the approval');
    expect(pending).toMatchObject({
      kind: 'workflow',
      ref: `${id}/gate`,
      summary: 'Scale web?',
      id: expect.stringMatching(/^apr-[a-z0-9]{5}$/),
    });
    await h.stopService();
    const offline = createApprovals({ store: h.stores.approvals, clock: { now: () => Date.now() } });
    await offline.decide(pending!.id, { approve: true, by: 'alice', comment: 'ok' });
    offline.close();
    await h.restart();
    await until(async () => ((await h!.service.run(id)) as any)?.status === 'succeeded', 'the run to finish');
    expect((await stepOf(h, id, 'gate')).output).toEqual({
      approved: true,
      approval: pending!.id,
      by: 'alice',
      comment: 'ok',
    });
    expect((await h.approvals.get(pending!.id))?.status).toBe('approved');
  });
});

describe('approval steps', () => {
  it('continues when approved and publishes waiting-approval', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('ok', [
        { name: 'gate', approval: 'Go?' },
        { name: 'go', action: 'test' },
      ]),
    );
    const { run } = await h.service.startRun('ok', {});
    const [a] = await until(async () => {
      const list = await h!.approvals.list({ status: 'pending' });
      return list.length > 0 ? list : undefined;
    }, 'the approval');
    await h.approvals.decide(a!.id, { approve: true, by: 'bob' });
    await h.service.settled(String(run.id));
    expect(((await h.service.run(String(run.id))) as any).status).toBe('succeeded');
    const waiting = await until(async () => (await h!.events('homeostat.workflow.waiting-approval'))[0], 'the event');
    expect(waiting.data).toMatchObject({ run: run.id, step: 'gate', approval: a!.id, summary: 'Go?' });
  });

  it('fails the step when rejected and compensates', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('no', [
        { name: 'prep', action: 'test', compensate: { action: 'test' } },
        { name: 'gate', approval: 'Go?' },
      ]),
    );
    const { run } = await h.service.startRun('no', {});
    const [a] = await until(async () => {
      const list = await h!.approvals.list({ status: 'pending' });
      return list.length > 0 ? list : undefined;
    }, 'the approval');
    await h.approvals.decide(a!.id, { approve: false, by: 'carol', comment: 'not now' });
    await h.service.settled(String(run.id));
    const done: any = await h.service.run(String(run.id));
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({
      code: 'E_APPROVAL_REJECTED',
      step: 'gate',
      message: expect.stringContaining('rejected by carol: not now'),
    });
    expect(done.steps.find((s: any) => s.path === 'prep/compensate').status).toBe('succeeded');
    await expect(h.approvals.decide(a!.id, { approve: true, by: 'x' })).rejects.toMatchObject({ code: 'E_CONFLICT' });
  });

  it('expires by the clock and fails the step', async () => {
    const clock = createManualClock();
    h = await startHarness({ clock, pollMs: 5 });
    await h.service.apply(workflow('late', [{ name: 'gate', approval: { summary: 'Go?', timeout: '1h' } }]));
    const { run } = await h.service.startRun('late', {});
    const [a] = await until(async () => {
      const list = await h!.approvals.list({ status: 'pending' });
      return list.length > 0 ? list : undefined;
    }, 'the approval');
    expect(a!.expiresAt).toBe(clock.now() + 3_600_000);
    clock.advance(3_600_000);
    await until(async () => ((await h!.service.run(String(run.id))) as any)?.status === 'failed', 'the run to fail');
    expect((await stepOf(h, String(run.id), 'gate')).error.code).toBe('E_APPROVAL_EXPIRED');
    expect(await h.approvals.get(a!.id)).toMatchObject({ status: 'expired', decidedBy: 'homeostat' });
  });
});

describe('approvals', () => {
  it('hands decisions taken without a handler to the handler when it registers, again after a handler failure', async () => {
    h = await startHarness();
    const approvals = createApprovals({ store: h.stores.approvals, clock: { now: () => Date.now() } });
    try {
      const a = await approvals.request({
        kind: 'action',
        ref: 'act-1',
        summary: 'Scale web to 6?',
        payload: { to: 6 },
      });
      expect(a).toMatchObject({ status: 'pending', kind: 'action', payload: { to: 6 } });
      await approvals.decide(a.id, { approve: true, by: 'dave' });
      const seen: string[] = [];
      let fail = true;
      const handler = async (x: { id: string; status: string }) => {
        seen.push(`${x.id}:${x.status}`);
        if (fail) throw new Error('handler down');
      };
      approvals.register('action', handler);
      await until(() => seen.length === 1, 'the handover');
      fail = false;
      approvals.register('action', handler);
      await until(() => seen.length === 2, 'the second handover');
      approvals.register('action', handler);
      await new Promise((r) => setTimeout(r, 30));
      expect(seen).toEqual([`${a.id}:approved`, `${a.id}:approved`]);
      await expect(approvals.decide('apr-zzzzz', { approve: true, by: 'x' })).rejects.toMatchObject({
        code: 'E_NOT_FOUND',
      });
      expect((await approvals.list({ kind: 'action', status: 'approved' })).map((x) => x.id)).toEqual([a.id]);
    } finally {
      approvals.close();
    }
  });
});
