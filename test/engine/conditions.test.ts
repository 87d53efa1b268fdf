import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONDITION_FIRED_TYPE } from '../../src/core/rules/types.js';
import { type ConditionRig, firedAt, startRig, T0 } from './conditions-helpers.js';
import { eventually } from './harness.js';

let rig: ConditionRig;

beforeEach(async () => {
  rig = await startRig();
});

afterEach(async () => {
  await rig.close();
});

const S = 1000;

describe('rules with when, through the engine on a manual clock', () => {
  it('count: fires once per group when atLeast events fall within the window, and delivers the fired event', async () => {
    rig.t.apply(rig.rule('burst', { count: { atLeast: 3, within: '1m' }, groupBy: 'subject' }));
    await rig.send({ id: 'a1', subject: 'host-a' }, { id: 'a2', subject: 'host-a' }, { id: 'b1', subject: 'host-b' });
    expect(await rig.firings()).toEqual([]);
    await rig.after(10 * S);
    await rig.send({ id: 'a3', subject: 'host-a', data: { n: 3 } });
    const [fired, ...more] = await rig.firings('burst');
    expect(more).toEqual([]);
    expect(fired).toMatchObject({
      type: CONDITION_FIRED_TYPE,
      source: 'homeostat/rules/burst',
      subject: 'host-a',
      causationid: 'a3',
      partitionkey: 'burst',
      data: { rule: 'burst', generation: 1, group: 'host-a', kind: 'count', trigger: { id: 'a3', data: { n: 3 } } },
    });
    expect(fired!.data.detail).toMatchObject({ count: 3, atLeast: 3, within: 60_000, firstAt: T0, spanMs: 10_000 });
    expect(firedAt(fired!)).toBe(10_000);
    await eventually(() => rig.sink.requests.length === 1, 'the fired event delivered');
    expect(rig.sink.requests[0]!.eventId).toBe(fired!.id);
    expect(rig.sink.requests[0]!.body).toMatchObject({ type: CONDITION_FIRED_TYPE, data: { group: 'host-a' } });
    // Still holding: edge-triggered, so no second firing.
    await rig.send({ id: 'a4', subject: 'host-a' });
    expect(await rig.firings()).toHaveLength(1);
  });

  it('count: events that left the window do not count', async () => {
    rig.t.apply(rig.rule('burst', { count: { atLeast: 3, within: '1m' } }));
    await rig.send({}, {});
    await rig.after(61 * S);
    await rig.send({});
    expect(await rig.firings()).toEqual([]);
    await rig.send({});
    expect(await rig.firings()).toHaveLength(0);
    await rig.send({});
    expect(await rig.firings()).toHaveLength(1);
  });

  it('sustained: fires once events kept arriving for `for`, and a gap over maxGap starts the streak again', async () => {
    rig.t.apply(rig.rule('hot', { for: '30s', maxGap: '10s', groupBy: 'subject' }));
    for (const at of [0, 5, 20, 28]) {
      rig.clock.set(T0 + at * S);
      await rig.send({ subject: 'a' });
    }
    // The gap from 5 s to 20 s broke the streak: it started again at 20 s.
    await rig.after(2 * S);
    expect(await rig.firings()).toEqual([]);
    for (const at of [36, 44, 50]) {
      rig.clock.set(T0 + at * S);
      await rig.send({ subject: 'a' });
    }
    const fired = await rig.firings('hot');
    expect(fired).toHaveLength(1);
    expect(firedAt(fired[0]!)).toBe(50_000);
    expect(fired[0]!.data.detail).toMatchObject({ kind: 'sustained', since: T0 + 20_000, for: 30_000, maxGap: 10_000 });
  });

  it('absent: fires from ticks alone once a group has been silent for the duration, once per silence', async () => {
    rig.t.apply(rig.rule('heartbeat-lost', { absent: '30s', groupBy: 'subject' }, { match: { type: ['heartbeat'] } }));
    await rig.send({ type: 'heartbeat', subject: 'web-1' }, { type: 'heartbeat', subject: 'web-2' });
    await rig.after(20 * S);
    await rig.send({ type: 'heartbeat', subject: 'web-2' });
    await rig.after(9 * S);
    expect(await rig.firings()).toEqual([]);
    await rig.after(5 * S);
    let fired = await rig.firings('heartbeat-lost');
    expect(fired.map((e) => [e.subject, firedAt(e)])).toEqual([['web-1', 30_000]]);
    expect(fired[0]!.data).not.toHaveProperty('trigger');
    expect(fired[0]!.data.detail).toMatchObject({ kind: 'absent', lastSeenAt: T0, silentMs: 30_000 });
    await rig.after(60 * S);
    fired = await rig.firings('heartbeat-lost');
    expect(fired.map((e) => [e.subject, firedAt(e)])).toEqual([
      ['web-1', 30_000],
      ['web-2', 50_000],
    ]);
    // A heartbeat ends the silence; the next silence fires again.
    await rig.send({ type: 'heartbeat', subject: 'web-1' });
    await rig.after(30 * S);
    expect((await rig.firings('heartbeat-lost')).map((e) => e.subject)).toEqual(['web-1', 'web-2', 'web-1']);
    await eventually(() => rig.sink.requests.length === 3, 'three deliveries');
  });

  it('absent without groupBy: counts the silence from when the rule was applied', async () => {
    rig.t.apply(rig.rule('nothing-arrives', { absent: '1m' }, { match: { type: ['heartbeat'] } }));
    await rig.after(59 * S);
    expect(await rig.firings()).toEqual([]);
    await rig.after(1 * S);
    const fired = await rig.firings('nothing-arrives');
    expect(fired.map(firedAt)).toEqual([60_000]);
    expect(fired[0]!).not.toHaveProperty('subject');
  });

  it('sequence: fires when an event of step first is followed by one of step then within the window, per group', async () => {
    const match = { type: ['deploy.started', 'deploy.failed'] };
    const when = {
      sequence: { first: { type: ['deploy.started'] }, then: { type: ['deploy.failed'] }, within: '5m' },
      groupBy: 'subject',
    };
    rig.t.apply(rig.rule('deploy-failed', when, { match }));
    await rig.send({ type: 'deploy.failed', subject: 'app-1' });
    await rig.send({ type: 'deploy.started', subject: 'app-1' }, { type: 'deploy.started', subject: 'app-2' });
    await rig.after(1 * S);
    await rig.send({ id: 'f1', type: 'deploy.failed', subject: 'app-1' });
    await rig.after(6 * 60 * S);
    await rig.send({ type: 'deploy.failed', subject: 'app-2' });
    const fired = await rig.firings('deploy-failed');
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ subject: 'app-1', causationid: 'f1' });
    expect(fired[0]!.data.detail).toMatchObject({ kind: 'sequence', firstAt: T0, thenAt: T0 + 1000, gapMs: 1000 });
  });

  it('sequence: an event matching both steps completes a waiting sequence and starts the next', async () => {
    const step = { type: ['instance.restarted'] };
    rig.t.apply(
      rig.rule(
        'restart-twice',
        { sequence: { first: step, then: step, within: '1m' }, groupBy: 'subject' },
        {
          match: step,
        },
      ),
    );
    await rig.send({ type: 'instance.restarted', subject: 'i-1' });
    expect(await rig.firings()).toEqual([]);
    await rig.after(10 * S);
    await rig.send({ type: 'instance.restarted', subject: 'i-1' });
    await rig.after(10 * S);
    await rig.send({ type: 'instance.restarted', subject: 'i-1' });
    expect((await rig.firings('restart-twice')).map(firedAt)).toEqual([10_000, 20_000]);
  });

  it('aggregate: p95 of a field over the window, with the arithmetic in the firing', async () => {
    const when = { aggregate: { fn: 'p95', field: 'data.latency', op: '>', value: 500, within: '1m' } };
    rig.t.apply(rig.rule('slow', when));
    await rig.send(...Array.from({ length: 19 }, () => ({ data: { latency: 100 } })));
    await rig.send({ data: { latency: 900 } });
    expect(await rig.firings()).toEqual([]);
    await rig.send({ data: { latency: 900 } });
    const [fired] = await rig.firings('slow');
    expect(fired!.data.detail).toMatchObject({ kind: 'aggregate', fn: 'p95', value: 900, samples: 21 });
    expect(fired!.data.detail.arithmetic).toBe('p95 of 21 samples = rank ceil(95% × 21) = 20 = 900 > 500');
  });

  it('aggregate: avg and max per group; samples leave the window', async () => {
    rig.t.apply(
      rig.rule('cpu-avg', {
        aggregate: { fn: 'avg', field: 'data.cpu', op: '>', value: 80, within: '1m' },
        groupBy: 'subject',
      }),
    );
    rig.t.apply(
      rig.rule('cpu-max', { aggregate: { fn: 'max', field: 'data.cpu', op: '>=', value: 99, within: '10s' } }),
    );
    await rig.send({ subject: 'a', data: { cpu: 70 } }, { subject: 'b', data: { cpu: 95 } });
    await rig.send({ subject: 'a', data: { cpu: 90 } });
    expect((await rig.firings('cpu-avg')).map((e) => e.subject)).toEqual(['b']);
    await rig.send({ subject: 'a', data: { cpu: 100 } });
    const avg = await rig.firings('cpu-avg');
    expect(avg.map((e) => e.subject)).toEqual(['b', 'a']);
    expect(avg[1]!.data.detail.arithmetic).toBe('avg = 260 / 3 samples = 86.66666666666667 > 80');
    const max = await rig.firings('cpu-max');
    expect(max).toHaveLength(1);
    // The 100 leaves the 10 s window; a new 99 fires again.
    await rig.after(11 * S);
    await rig.send({ subject: 'a', data: { cpu: 99 } });
    expect(await rig.firings('cpu-max')).toHaveLength(2);
  });

  it('debounce: fires from a tick once the condition has held for the debounce, not before', async () => {
    rig.t.apply(rig.rule('held', { count: { atLeast: 2, within: '1m' }, debounce: '10s' }));
    await rig.send({});
    await rig.after(1 * S);
    await rig.send({});
    await rig.after(5 * S);
    expect(await rig.firings()).toEqual([]);
    await rig.after(5 * S);
    const fired = await rig.firings('held');
    expect(fired.map(firedAt)).toEqual([11_000]);
    expect(fired[0]!.data.detail).toMatchObject({ heldSince: T0 + 1000, debounce: 10_000 });
  });

  it('debounce: a condition that stops holding before the debounce never fires', async () => {
    rig.t.apply(rig.rule('blip', { count: { atLeast: 2, within: '5s' }, debounce: '10s' }));
    await rig.send({}, {});
    await rig.after(6 * S);
    await rig.after(10 * S);
    expect(await rig.firings()).toEqual([]);
  });

  it('cooldown: a group does not fire again until the cooldown has passed since its last firing', async () => {
    rig.t.apply(rig.rule('cool', { count: { atLeast: 1, within: '1s' }, cooldown: '1m', groupBy: 'subject' }));
    await rig.send({ subject: 'a' });
    await rig.after(2 * S);
    await rig.send({ subject: 'a' }, { subject: 'b' });
    await rig.after(30 * S);
    await rig.send({ subject: 'a' });
    expect((await rig.firings('cool')).map((e) => [e.subject, firedAt(e)])).toEqual([
      ['a', 0],
      ['b', 2_000],
    ]);
    await rig.after(30 * S);
    await rig.send({ subject: 'a' });
    expect((await rig.firings('cool')).map((e) => [e.subject, firedAt(e)])).toEqual([
      ['a', 0],
      ['b', 2_000],
      ['a', 62_000],
    ]);
  });

  it('target input transforms reach the trigger and the detail; the trace links trigger, firing and delivery', async () => {
    const input = {
      paths: { n: '$.data.trigger.data.n', host: '$.subject', count: '$.data.detail.count' },
      template: '{"n": <n>, "host": "<host>", "count": <count>}',
    };
    rig.t.apply(rig.rule('page', { count: { atLeast: 2, within: '1m' }, groupBy: 'subject' }, { target: { input } }));
    await rig.send({ id: 't1', subject: 'db-1', data: { n: 1 } }, { id: 't2', subject: 'db-1', data: { n: 2 } });
    await eventually(() => rig.sink.requests.length === 1, 'delivery');
    expect(rig.sink.requests[0]!.body).toEqual({ n: 2, host: 'db-1', count: 2 });
    const [fired] = await rig.firings('page');
    const trigger = await rig.t.engine.admin.trace('t2');
    expect(trigger.map((e) => [e.kind, e.rule])).toEqual([
      ['matched', 'page'],
      ['emitted', 'page'],
    ]);
    expect(trigger[1]!.detail).toMatchObject({ condition: 'count', group: 'db-1', events: [{ id: fired!.id }] });
    await eventually(
      async () => (await rig.t.engine.admin.trace(fired!.id)).some((e) => e.kind === 'delivered'),
      'the firing delivered',
    );
    expect((await rig.t.engine.admin.trace(fired!.id)).map((e) => e.kind)).toEqual(['matched', 'attempt', 'delivered']);
    expect((await rig.t.engine.admin.trace('t1')).map((e) => e.kind)).toEqual(['matched']);
  });

  it('another rule can match the fired events; a rule never feeds its own firings to itself', async () => {
    rig.t.apply(rig.rule('any', { count: { atLeast: 1, within: '1m' } }, { match: { source: [{ prefix: '' }] } }));
    rig.t.apply({
      metadata: { name: 'chain' },
      spec: {
        match: { type: [CONDITION_FIRED_TYPE], data: { rule: ['any'] } },
        targets: [{ name: 'hook', action: 'http', with: { url: `${rig.sink.url}/chain` } }],
      },
    });
    await rig.send({ id: 'x1' });
    await rig.after(2 * 60 * S);
    await rig.send({ id: 'x2' });
    await rig.after(1 * S);
    expect((await rig.firings('any')).map((e) => e.causationid)).toEqual(['x1', 'x2']);
    await eventually(() => rig.sink.requests.length === 4, 'each firing to both rules');
  });

  it('keeps the state when only the targets change; starts afresh in a new generation when the condition changes', async () => {
    rig.t.apply(rig.rule('r', { count: { atLeast: 3, within: '1h' } }));
    await rig.send({}, {});
    rig.t.apply(rig.rule('r', { count: { atLeast: 3, within: '1h' } }, { target: { timeout: '5s' } }));
    await rig.send({});
    expect((await rig.firings('r')).map((e) => e.data.generation)).toEqual([1]);
    rig.t.apply(rig.rule('r', { count: { atLeast: 2, within: '1h' } }));
    await rig.send({});
    expect(await rig.firings('r')).toHaveLength(1);
    await rig.send({});
    expect((await rig.firings('r')).map((e) => e.data.generation)).toEqual([1, 2]);
  });

  it('a disabled rule neither counts nor fires, and starts empty when enabled again', async () => {
    const manifest = rig.rule('r', { count: { atLeast: 2, within: '1h' } });
    rig.t.apply(manifest);
    await rig.send({});
    rig.t.apply({ ...manifest, spec: { ...(manifest.spec as object), enabled: false } });
    await rig.send({}, {});
    rig.t.apply(manifest);
    await rig.send({});
    expect(await rig.firings()).toEqual([]);
    await rig.send({});
    expect(await rig.firings('r')).toHaveLength(1);
  });

  it("a replay re-delivers the rule's firings in the range, not the events it matched", async () => {
    rig.t.apply(rig.rule('rp', { count: { atLeast: 2, within: '1m' } }));
    await rig.send({}, {});
    const [fired] = await rig.firings('rp');
    await eventually(() => rig.sink.requests.length === 1, 'the firing delivered');
    const report = await rig.t.engine.replay({ since: T0, until: rig.clock.now() + 1 }, 'rp');
    expect(report).toMatchObject({ matched: 1, submitted: 1 });
    await eventually(() => rig.sink.requests.length === 2, 'the replayed delivery');
    expect(rig.sink.requests.map((r) => [r.eventId, r.headers['homeostat-replayed']])).toEqual([
      [fired!.id, undefined],
      [fired!.id, 'true'],
    ]);
  });

  it('backtest runs the condition over past events and counts its firings', async () => {
    const manifest = rig.rule('bt', { count: { atLeast: 2, within: '10s' }, groupBy: 'subject' });
    await rig.send({ subject: 'a' }, { subject: 'a' }, { subject: 'b' });
    await rig.after(20 * S);
    await rig.send({ subject: 'b' }, { subject: 'a' });
    await rig.after(1 * S);
    await rig.send({ subject: 'a' });
    const spec = rig.t.apply({ ...manifest, spec: { ...(manifest.spec as object), enabled: false } });
    const report = await rig.t.engine.backtest(spec, { since: T0, until: rig.clock.now() + 1 });
    expect(report).toMatchObject({ matched: 6, condition: { kind: 'count', fired: 2 } });
    expect(report.targets[0]!.deliveries).toBe(2);
    expect(report.samples.map((s) => [s.type, s.appendedAt])).toEqual([
      [CONDITION_FIRED_TYPE, new Date(T0).toISOString()],
      [CONDITION_FIRED_TYPE, new Date(T0 + 21_000).toISOString()],
    ]);
    expect(await rig.firings()).toEqual([]);
  });
});
