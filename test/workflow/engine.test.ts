/**
 * @module Workflow runner on real SQLite files: every step type, expressions, retries,
 * compensation, parallel branches, approvals, cancel, timeouts, the workflow action and resumption.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness, until, workflow } from './harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function runTo(harness: Harness, name: string, input: unknown = {}): Promise<any> {
  const { run } = await harness.service.startRun(name, input);
  await harness.service.settled(String(run.id));
  return harness.service.run(String(run.id));
}

function step(run: any, path: string): any {
  const s = run.steps.find((x: any) => x.path === path);
  if (!s) throw new Error(`no step ${path} in ${JSON.stringify(run.steps.map((x: any) => x.path))}`);
  return s;
}

describe('workflow runs', () => {
  it('runs action steps in order with expressions over input and earlier outputs, recording input, output and timing', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('chain', [
        { name: 'first', action: 'test', with: { value: '${ input.n * 2 }' } },
        {
          name: 'second',
          action: 'test',
          with: { value: 'got ${ steps.first.output.value }' },
          payload: { n: '${ input.n }' },
        },
      ]),
    );
    const run = await runTo(h, 'chain', { n: 21 });
    expect(run.status).toBe('succeeded');
    expect(step(run, 'first')).toMatchObject({ status: 'succeeded', attempts: 1, output: { value: 42, attempt: 1 } });
    expect(step(run, 'second')).toMatchObject({
      input: { action: 'test', with: { value: 'got 42' }, payload: { n: 21 } },
      output: { value: 'got 42' },
    });
    for (const s of run.steps) expect(Date.parse(s.endedAt)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
    expect(h.calls.map((c) => c.key)).toEqual([`${run.id}/first`, `${run.id}/second`]);
  });

  it('publishes started, step and completed events with the run id and the trigger as causation', async () => {
    h = await startHarness();
    await h.service.apply(workflow('evented', [{ name: 'only', action: 'test' }]));
    const { run } = await h.service.startRun('evented', {}, { cause: 'trigger-1' });
    await h.service.settled(String(run.id));
    const events = await until(async () => {
      const e = await h!.events('homeostat.workflow.');
      return e.length >= 3 ? e : undefined;
    }, 'workflow events');
    expect(events.map((e) => e.type)).toEqual([
      'homeostat.workflow.started',
      'homeostat.workflow.step.completed',
      'homeostat.workflow.completed',
    ]);
    for (const e of events) {
      expect(e).toMatchObject({
        source: 'homeostat/workflows/evented',
        subject: 'workflow/evented',
        causationid: 'trigger-1',
      });
      expect((e.data as { run: string }).run).toBe(run.id);
    }
  });

  it('emits events from a step with the emit action, caused by the run', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('emitter', [
        {
          name: 'tell',
          action: 'emit',
          with: { type: 'wf.replaced', subject: 'instance/web-3', data: { instance: '${ input.instance }' } },
        },
      ]),
    );
    const run = await runTo(h, 'emitter', { instance: 'web-3' });
    expect(step(run, 'tell').output).toMatchObject({ status: 'accepted', emitted: [{ id: `${run.id}/tell.0` }] });
    const [emitted] = await h.events('wf.replaced');
    expect(emitted).toMatchObject({
      id: `${run.id}/tell.0`,
      data: { instance: 'web-3' },
      causationid: `${run.id}/started`,
    });
  });

  it('branches on a CEL condition and skips a step whose if is false', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('branchy', [
        { name: 'probe', action: 'test', with: { value: '${ input.size }' } },
        {
          name: 'decide',
          if: 'steps.probe.output.value > 10',
          then: [{ name: 'big', action: 'test' }],
          else: [{ name: 'small', action: 'test' }],
        },
        { name: 'guarded', action: 'test', if: 'input.size == 3' },
      ]),
    );
    const big = await runTo(h, 'branchy', { size: 50 });
    expect(step(big, 'decide')).toMatchObject({ status: 'succeeded', branch: 'then', output: { branch: 'then' } });
    expect(big.steps.map((s: any) => s.path)).toEqual(['probe', 'decide', 'big', 'guarded']);
    expect(step(big, 'guarded').status).toBe('skipped');
    const small = await runTo(h, 'branchy', { size: 3 });
    expect(small.steps.map((s: any) => [s.path, s.status])).toEqual([
      ['probe', 'succeeded'],
      ['decide', 'succeeded'],
      ['small', 'succeeded'],
      ['guarded', 'succeeded'],
    ]);
  });

  it('retries a failing action with backoff and records the attempts', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('flaky', [
        { name: 'call', action: 'test', with: { fail: 2 }, retry: { maxAttempts: 3, initialDelay: '1ms' } },
      ]),
    );
    const run = await runTo(h, 'flaky');
    expect(run.status).toBe('succeeded');
    expect(step(run, 'call')).toMatchObject({ attempts: 3, output: { attempt: 3 } });
    expect(h.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it('compensates completed steps in reverse order when a later step fails, then fails the run', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('saga', [
        { name: 'a', action: 'test', compensate: { action: 'test', with: { value: 'undo a' } } },
        {
          name: 'b',
          action: 'test',
          compensate: { action: 'test', with: { value: 'undo ${ steps.b.status } b after ${ error.step }' } },
        },
        { name: 'c', action: 'test', with: { fail: 5 }, retry: { maxAttempts: 2, initialDelay: '1ms' } },
        { name: 'd', action: 'test' },
      ]),
    );
    const run = await runTo(h, 'saga');
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'E_TEST', step: 'c' });
    expect(step(run, 'c')).toMatchObject({ status: 'failed', attempts: 2 });
    expect(run.steps.map((s: any) => s.path)).toEqual(['a', 'b', 'c', 'b/compensate', 'a/compensate']);
    expect(step(run, 'b/compensate').input.with.value).toBe('undo succeeded b after c');
    expect(h.calls.map((c) => c.key.split('/').slice(1).join('/'))).toEqual([
      'a',
      'b',
      'c',
      'c',
      'b/compensate',
      'a/compensate',
    ]);
  });

  it('goes on after a failed step with continueOnError and exposes its status', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('tolerant', [
        { name: 'bad', action: 'test', with: { fatal: true }, continueOnError: true },
        { name: 'after', action: 'test', with: { value: '${ steps.bad.status }' } },
      ]),
    );
    const run = await runTo(h, 'tolerant');
    expect(run.status).toBe('succeeded');
    expect(step(run, 'bad')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'E_TEST' } });
    expect(step(run, 'after').output.value).toBe('failed');
  });

  it('runs parallel branches concurrently and completes when all complete', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('fan', [
        {
          name: 'both',
          parallel: [
            [
              { name: 'left', wait: '30ms' },
              { name: 'l2', action: 'test' },
            ],
            [{ name: 'right', action: 'test' }],
          ],
        },
        { name: 'join', action: 'test', with: { value: '${ steps.l2.status + "/" + steps.right.status }' } },
      ]),
    );
    const run = await runTo(h, 'fan');
    expect(run.status).toBe('succeeded');
    // The right branch finished while the left one was still waiting.
    expect(Date.parse(step(run, 'right').endedAt)).toBeLessThanOrEqual(Date.parse(step(run, 'left').endedAt));
    expect(step(run, 'join').output.value).toBe('succeeded/succeeded');
  });

  it('stops the other branches when one fails and compensates what completed', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('fan-fail', [
        { name: 'prep', action: 'test', compensate: { action: 'test', with: { value: 'undo prep' } } },
        {
          name: 'both',
          parallel: [
            [{ name: 'stuck', action: 'test', with: { block: true } }],
            [{ name: 'boom', action: 'test', with: { fatal: true } }],
          ],
        },
      ]),
    );
    const run = await runTo(h, 'fan-fail');
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'E_TEST', step: 'boom' });
    expect(step(run, 'stuck')).toMatchObject({ status: 'cancelled', error: { code: 'E_SIBLING_FAILED' } });
    expect(step(run, 'both')).toMatchObject({ status: 'failed' });
    expect(step(run, 'prep/compensate').status).toBe('succeeded');
  });

  it('waits for an event matching a pattern rendered from the input, including one appended before the wait was read', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('ready', [
        {
          name: 'ready',
          waitForEvent: { match: { type: ['infra.instance.ready'], subject: ['${ input.instance }'] }, timeout: '1m' },
        },
        { name: 'after', action: 'test', with: { value: '${ steps.ready.output.event.data.ip }' } },
      ]),
    );
    const { run } = await h.service.startRun('ready', { instance: 'web-3' });
    await until(
      async () => ((await h!.service.run(String(run.id))) as any)?.steps?.[0]?.status === 'waiting',
      'the wait to begin',
    );
    await h.append(
      { id: 'e1', type: 'infra.instance.ready', subject: 'web-2', data: { ip: 'wrong' } },
      { id: 'e2', type: 'infra.instance.ready', subject: 'web-3', data: { ip: '10.0.0.3' } },
    );
    await h.service.settled(String(run.id));
    const done = await h.service.run(String(run.id));
    expect(done?.status).toBe('succeeded');
    expect(step(done, 'ready').output.event.id).toBe('e2');
    expect(step(done, 'after').output.value).toBe('10.0.0.3');
  });

  it('times out a wait for an event: fails by default, continues with onTimeout: continue', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('nobody', [
        { name: 'soft', waitForEvent: { match: { type: ['never.a'] }, timeout: '20ms', onTimeout: 'continue' } },
        { name: 'hard', waitForEvent: { match: { type: ['never.b'] }, timeout: '20ms' } },
      ]),
    );
    const run = await runTo(h, 'nobody');
    expect(step(run, 'soft')).toMatchObject({ status: 'succeeded', output: { timedOut: true } });
    expect(step(run, 'hard')).toMatchObject({ status: 'failed', error: { code: 'E_WAIT_TIMEOUT' } });
    expect(run.status).toBe('failed');
  });

  it('cancels a running run without compensation and rejects its pending approval', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('cancel-me', [
        { name: 'a', action: 'test', compensate: { action: 'test' } },
        { name: 'gate', approval: 'Go on?' },
      ]),
    );
    const { run } = await h.service.startRun('cancel-me', {});
    await until(async () => (await h!.approvals.list({ status: 'pending' })).length === 1, 'the approval request');
    const cancelled: any = await h.service.cancel(String(run.id));
    expect(cancelled.status).toBe('cancelled');
    expect(step(cancelled, 'gate')).toMatchObject({ status: 'cancelled', error: { code: 'E_CANCELLED' } });
    expect(cancelled.steps.some((s: any) => s.path === 'a/compensate')).toBe(false);
    const [approval] = await h.approvals.list({ kind: 'workflow' });
    expect(approval).toMatchObject({ status: 'rejected', decidedBy: 'homeostat' });
    await expect(h.service.cancel(String(run.id))).rejects.toMatchObject({ code: 'E_CONFLICT' });
    await expect(h.service.cancel('run-nope')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('fails a run that passes its spec.timeout and compensates', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow(
        'slow',
        [
          { name: 'a', action: 'test', compensate: { action: 'test' } },
          { name: 'long', wait: '1h' },
        ],
        {
          timeout: '1s',
        },
      ),
    );
    const run = await runTo(h, 'slow');
    expect(run.status).toBe('failed');
    expect(run.error.code).toBe('E_WORKFLOW_TIMEOUT');
    expect(step(run, 'long')).toMatchObject({ status: 'failed', error: { code: 'E_WORKFLOW_TIMEOUT' } });
    expect(step(run, 'a/compensate').status).toBe('succeeded');
  });

  it('fails a step whose expression cannot be evaluated, naming where', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('broken', [{ name: 'x', action: 'test', with: { value: '${ input.missing.deep }' } }]),
    );
    const run = await runTo(h, 'broken');
    expect(step(run, 'x')).toMatchObject({
      status: 'failed',
      error: { code: 'E_EXPRESSION', message: expect.stringContaining('/spec/steps/0/with/value') },
    });
    expect(h.calls).toEqual([]);
  });

  it('starts one run per delivery through the workflow action, with the event in expressions', async () => {
    h = await startHarness();
    await h.service.apply(
      workflow('from-rule', [
        { name: 'x', action: 'test', with: { value: '${ event.subject + ":" + string(input.n) }' } },
      ]),
    );
    const target = h.service.target;
    expect(target.validate({})).toEqual([{ pointer: '/name', message: expect.stringMatching(/^is required/) }]);
    expect(target.validate({ name: 'x', input: { a: '${ nope }' } })[0]?.pointer).toBe('/input/a');
    const record = {
      offset: 5,
      partition: 0,
      partitionKey: 'k',
      appendedAt: 0,
      event: { specversion: '1.0' as const, id: 'ev-1', source: '/s', type: 't', subject: 'web-1', data: { n: 7 } },
    };
    const req = {
      record,
      rule: 'r',
      target: { id: 'wf', action: 'workflow', with: { name: 'from-rule', input: { n: '${ event.data.n }' } } } as any,
      attempt: 1,
      idempotencyKey: 'hst1-abc',
      payload: record.event,
      replayed: false,
      signal: new AbortController().signal,
    };
    const first = await target.deliver(req);
    const again = await target.deliver({ ...req, attempt: 2 });
    expect(first).toMatchObject({ ok: true, detail: { created: true } });
    expect(again).toMatchObject({ ok: true, detail: { created: false } });
    const runId = (first as any).detail.run;
    expect((again as any).detail.run).toBe(runId);
    await h.service.settled(runId);
    const run: any = await h.service.run(runId);
    expect(run).toMatchObject({ status: 'succeeded', cause: 'ev-1', event: { id: 'ev-1' } });
    expect(step(run, 'x').output.value).toBe('web-1:7');
    const missing = await target.deliver({
      ...req,
      idempotencyKey: 'k2',
      target: { ...req.target, with: { name: 'nope' } },
    });
    expect(missing).toMatchObject({ ok: false, retry: 'no', error: { code: 'E_NOT_FOUND' } });
  });
});
