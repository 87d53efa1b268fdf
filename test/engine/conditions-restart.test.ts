import { afterEach, describe, expect, it } from 'vitest';
import { type ConditionRig, firedAt, startRig } from './conditions-helpers.js';
import { eventually, startEngine, startSink } from './harness.js';

let rig: ConditionRig | undefined;

afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const S = 1000;

describe('rule conditions across a restart (graceful stop: the last state is saved)', () => {
  it('restores windows, silences and debounces; fires each once', async () => {
    rig = await startRig();
    const rules = [
      rig.rule('five', { count: { atLeast: 5, within: '1h' } }),
      rig.rule('quiet', { absent: '30s', groupBy: 'subject' }, { match: { type: ['heartbeat'] } }),
      rig.rule('held', { count: { atLeast: 2, within: '1h' }, debounce: '10s' }, { match: { type: ['held'] } }),
    ];
    for (const r of rules) rig.t.apply(r);
    await rig.send({}, {}, {}, { type: 'heartbeat', subject: 'w1' }, { type: 'held' }, { type: 'held' });
    await rig.after(5 * S);
    await rig.restart(rules);
    await rig.send({}, {});
    expect((await rig.firings('five')).map(firedAt)).toEqual([5_000]);
    await rig.after(5 * S);
    expect((await rig.firings('held')).map(firedAt)).toEqual([10_000]);
    await rig.after(20 * S);
    expect((await rig.firings('quiet')).map((e) => [e.subject, firedAt(e)])).toEqual([['w1', 30_000]]);
    await rig.restart(rules);
    await rig.after(60 * S);
    await rig.send({});
    expect((await rig.firings()).map((e) => e.data.rule).sort()).toEqual(['five', 'held', 'quiet']);
  });

  it('fires a deadline that passed while the engine was down, at the deadline', async () => {
    rig = await startRig();
    const rules = [rig.rule('quiet', { absent: '30s', groupBy: 'subject' }, { match: { type: ['heartbeat'] } })];
    rig.t.apply(rules[0]!);
    await rig.send({ type: 'heartbeat', subject: 'w1' });
    await rig.restart(rules, () => rig!.clock.advance(10 * 60 * S));
    await rig.after(0);
    expect((await rig.firings('quiet')).map(firedAt)).toEqual([30_000]);
  });

  it('starts a rule whose condition changed while down afresh, in a new generation; keeps one whose targets changed', async () => {
    rig = await startRig();
    const kept = rig.rule('kept', { count: { atLeast: 3, within: '1h' } });
    const changed = rig.rule('changed', { count: { atLeast: 3, within: '1h' } });
    rig.t.apply(kept);
    rig.t.apply(changed);
    await rig.send({}, {});
    const kept2 = rig.rule('kept', { count: { atLeast: 3, within: '1h' } }, { target: { timeout: '3s' } });
    const changed2 = rig.rule('changed', { count: { atLeast: 3, within: '2h' } });
    await rig.restart([kept2, changed2]);
    await rig.send({});
    expect((await rig.firings()).map((e) => [e.data.rule, e.data.generation])).toEqual([['kept', 1]]);
    await rig.send({}, {});
    expect((await rig.firings('changed')).map((e) => e.data.generation)).toEqual([2]);
    await rig.t.engine.conditions.flush();
    const rows = await rig.t.conditionStore.list();
    expect(rows.map((r) => [r.rule, r.generation])).toEqual([
      ['changed', 2],
      ['kept', 1],
    ]);
  });

  it('removes the saved state of a rule that is deleted, disabled, or gone at start', async () => {
    rig = await startRig();
    const rules = ['r1', 'r2', 'r3'].map((n) => rig!.rule(n, { count: { atLeast: 9, within: '1h' } }));
    for (const r of rules) rig.t.apply(r);
    await rig.send({});
    await rig.t.engine.conditions.flush();
    expect((await rig.t.conditionStore.list()).map((r) => r.rule)).toEqual(['r1', 'r2', 'r3']);
    rig.t.engine.setRule('r1', undefined);
    rig.t.apply({ ...rules[1]!, spec: { ...(rules[1]!.spec as object), enabled: false } });
    await rig.t.engine.conditions.flush();
    expect((await rig.t.conditionStore.list()).map((r) => r.rule)).toEqual(['r3']);
    await rig.restart([]);
    await rig.t.engine.conditions.flush();
    expect(await rig.t.conditionStore.list()).toEqual([]);
  });
});

describe('rule conditions on the system clock', () => {
  it('fires an absence from the real-time timer, with no tick called', async () => {
    const sink = await startSink();
    const t = await startEngine(undefined, [], { conditionOptions: { tickGraceMs: 10 } });
    try {
      t.apply({
        metadata: { name: 'silent' },
        spec: {
          match: { type: ['never.sent'] },
          when: { absent: '200ms' },
          targets: [{ name: 'hook', action: 'http', with: { url: sink.url } }],
        },
      });
      await eventually(() => sink.requests.length > 0, 'the absence delivered');
      expect(sink.requests[0]!.body).toMatchObject({ type: 'homeostat.condition.fired', data: { kind: 'absent' } });
    } finally {
      await t.stop();
      await t.remove();
      await sink.close();
    }
  });
});
