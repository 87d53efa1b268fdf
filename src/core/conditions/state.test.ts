import { describe, expect, it } from 'vitest';
import { parseWhen } from './parse.js';
import { createConditionState } from './state.js';
import type { ConditionState, Firing } from './types.js';

const state = (when: unknown, startedAt?: number): ConditionState =>
  createConditionState(parseWhen(when, '/when'), startedAt === undefined ? {} : { startedAt });

const ev = (subject: string, data: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: `${subject}-${JSON.stringify(data)}`,
  source: 'test',
  type: 't',
  subject,
  data,
});

/** Feeds events at the given times; returns the times at which it fired. */
function firesAt(s: ConditionState, times: readonly number[], subject = 'a'): number[] {
  return times.flatMap((t) => s.onEvent(ev(subject), t).map((f) => f.at));
}

describe('count', () => {
  it('fires on the event that makes atLeast events within the window, not before', () => {
    const s = state({ count: { atLeast: 3, within: '10s' } });
    expect(firesAt(s, [0, 4000])).toEqual([]);
    const [firing] = s.onEvent(ev('a'), 10_000);
    expect(firing).toEqual({
      group: '',
      at: 10_000,
      detail: { kind: 'count', count: 3, atLeast: 3, within: 10_000, firstAt: 0, spanMs: 10_000 },
    });
  });

  it('does not fire when the events are spread wider than the window', () => {
    expect(firesAt(state({ count: { atLeast: 3, within: '10s' } }), [0, 5000, 10_001])).toEqual([]);
  });

  it('fires once per burst and again after the window empties', () => {
    const s = state({ count: { atLeast: 2, within: '1s' } });
    expect(firesAt(s, [0, 100, 200, 300])).toEqual([100]);
    expect(s.nextDeadline()).toBe(1201);
    expect(s.onTick(1201)).toEqual([]);
    expect(firesAt(s, [5000, 5500])).toEqual([5500]);
  });

  it('keeps groups apart', () => {
    const s = state({ count: { atLeast: 2, within: '10s' }, groupBy: 'subject' });
    const fired = [
      ...s.onEvent(ev('web-1'), 0),
      ...s.onEvent(ev('web-2'), 1),
      ...s.onEvent(ev('web-1'), 2),
      ...s.onEvent(ev('web-3'), 3),
    ];
    expect(fired.map((f) => [f.group, f.at])).toEqual([['web-1', 2]]);
  });

  it('keeps only atLeast timestamps per group', () => {
    const s = state({ count: { atLeast: 4, within: '1h' } });
    for (let t = 0; t < 1000; t++) s.onEvent(ev('a'), t);
    const snap = s.snapshot() as { groups: [string, { window: { times: number[] } }][] };
    expect(snap.groups[0]?.[1].window.times).toEqual([996, 997, 998, 999]);
  });

  it('ignores events that lack the groupBy field', () => {
    const s = state({ count: { atLeast: 1, within: '10s' }, groupBy: 'data.instance' });
    expect(s.onEvent(ev('a'), 0)).toEqual([]);
    expect(s.onEvent(ev('a', { instance: 7 }), 1).map((f) => f.group)).toEqual(['7']);
  });
});

describe('sustained (for)', () => {
  it('fires once events have kept arriving for the whole duration', () => {
    const s = state({ for: '10s', maxGap: '3s' });
    expect(firesAt(s, [0, 2000, 4000, 6000, 8000])).toEqual([]);
    const [firing] = s.onEvent(ev('a'), 10_000);
    expect(firing?.detail).toEqual({
      kind: 'sustained',
      since: 0,
      lastEventAt: 10_000,
      events: 6,
      for: 10_000,
      maxGap: 3000,
    });
    expect(firesAt(s, [12_000, 14_000])).toEqual([]);
  });

  it('starts over after a gap longer than maxGap', () => {
    const s = state({ for: '10s', maxGap: '3s' });
    expect(firesAt(s, [0, 2000, 4000, 8000, 11_000, 14_000, 17_000])).toEqual([]);
    expect(firesAt(s, [18_000])).toEqual([18_000]);
  });

  it('fires on a tick when the duration elapses between events', () => {
    const s = state({ for: '10s', maxGap: '3s' });
    firesAt(s, [0, 2000, 4000, 6000, 8000]);
    expect(s.nextDeadline()).toBe(10_000);
    expect(s.onTick(9999)).toEqual([]);
    expect(s.onTick(10_000).map((f) => f.at)).toEqual([10_000]);
    expect(s.nextDeadline()).toBe(11_001);
  });
});

describe('absent', () => {
  it('fires once per silence on a tick and re-arms after an event', () => {
    const s = state({ absent: '30s' }, 0);
    expect(s.nextDeadline()).toBe(30_000);
    expect(s.onTick(29_999)).toEqual([]);
    expect(s.onTick(30_000)).toEqual([
      { group: '', at: 30_000, detail: { kind: 'absent', lastSeenAt: 0, silentMs: 30_000, absent: 30_000 } },
    ]);
    expect([...s.onTick(40_000), ...s.onTick(100_000)]).toEqual([]);
    expect(s.nextDeadline()).toBeUndefined();
    expect(s.onEvent(ev('a'), 110_000)).toEqual([]);
    expect(s.nextDeadline()).toBe(140_000);
    expect(s.onTick(139_999)).toEqual([]);
    expect(s.onTick(140_000).map((f) => f.at)).toEqual([140_000]);
  });

  it('starts counting at the first tick when no start time is given', () => {
    const s = state({ absent: '1s' });
    expect(s.nextDeadline()).toBeUndefined();
    expect(s.onTick(5000)).toEqual([]);
    expect(s.onTick(6000).map((f) => f.at)).toEqual([6000]);
  });

  it('tracks each group from its last event', () => {
    const s = state({ absent: '30s', groupBy: 'data.instance' });
    s.onEvent(ev('hb', { instance: 'i-1' }), 0);
    s.onEvent(ev('hb', { instance: 'i-2' }), 10_000);
    expect(s.onTick(30_000).map((f) => f.group)).toEqual(['i-1']);
    expect(s.nextDeadline()).toBe(40_000);
    expect(s.onTick(40_000).map((f) => f.group)).toEqual(['i-2']);
  });
});

describe('sequence', () => {
  const seq = { sequence: { first: 'deploy', then: 'errors', within: '5m' }, groupBy: 'subject' };

  it('fires when then follows first within the window, at the boundary included', () => {
    const s = state(seq);
    expect(s.onEvent(ev('svc'), 0, 'deploy')).toEqual([]);
    const [firing] = s.onEvent(ev('svc'), 300_000, 'errors');
    expect(firing).toEqual({
      group: 'svc',
      at: 300_000,
      detail: {
        kind: 'sequence',
        first: 'deploy',
        then: 'errors',
        firstAt: 0,
        thenAt: 300_000,
        gapMs: 300_000,
        within: 300_000,
      },
    });
    expect(s.onEvent(ev('svc'), 300_001, 'errors')).toEqual([]);
  });

  it('does not fire beyond the window, out of order, or across groups', () => {
    const s = state(seq);
    s.onEvent(ev('svc'), 0, 'deploy');
    expect(s.onEvent(ev('svc'), 300_001, 'errors')).toEqual([]);
    expect(s.onEvent(ev('other'), 400_000, 'errors')).toEqual([]);
    s.onEvent(ev('other'), 400_001, 'deploy');
    expect(s.onEvent(ev('svc'), 400_002, 'errors')).toEqual([]);
    expect(s.onEvent(ev('other'), 400_003, 'errors').map((f) => f.group)).toEqual(['other']);
  });

  it('fires again for a second pair', () => {
    const s = state(seq);
    const out: Firing[] = [];
    for (const [t, step] of [
      [0, 'deploy'],
      [1, 'errors'],
      [2, 'deploy'],
      [3, 'errors'],
    ] as const) {
      out.push(...s.onEvent(ev('svc'), t, step));
    }
    expect(out.map((f) => f.at)).toEqual([1, 3]);
  });
});

describe('aggregate', () => {
  const p95 = { aggregate: { fn: 'p95', field: 'data.cpu', op: '>', value: 90, within: '1m' } };

  it('computes p95 by nearest rank and shows the arithmetic', () => {
    const s = state(p95);
    const values = [...Array.from({ length: 19 }, () => 50), 100];
    // 20 samples with one outlier: rank ceil(0.95 × 20) = 19 is still 50.
    expect(values.flatMap((cpu, i) => s.onEvent(ev('a', { cpu }), i))).toEqual([]);
    const [firing] = s.onEvent(ev('a', { cpu: 100 }), 20);
    expect(firing?.detail).toEqual({
      kind: 'aggregate',
      fn: 'p95',
      field: 'data.cpu',
      value: 100,
      op: '>',
      threshold: 90,
      samples: 21,
      within: 60_000,
      arithmetic: 'p95 of 21 samples = rank ceil(95% × 21) = 20 = 100 > 90',
    });
  });

  it('averages the samples and skips events without a number in the field', () => {
    const s = state({ aggregate: { fn: 'avg', field: 'data.cpu', op: '>', value: 80, within: '10s' } });
    expect(s.onEvent(ev('a', { cpu: 70 }), 0)).toEqual([]);
    expect(s.onEvent(ev('a', { cpu: 'high' }), 1)).toEqual([]);
    expect(s.onEvent(ev('a'), 2)).toEqual([]);
    const [firing] = s.onEvent(ev('a', { cpu: 100 }), 3);
    expect(firing?.detail).toMatchObject({ value: 85, samples: 2, arithmetic: 'avg = 170 / 2 samples = 85 > 80' });
  });

  it('drops samples as they leave the window, which can make the condition true on a tick', () => {
    const s = state({ aggregate: { fn: 'avg', field: 'data.cpu', op: '>', value: 80, within: '10s' } });
    s.onEvent(ev('a', { cpu: 10 }), 0);
    expect(s.onEvent(ev('a', { cpu: 90 }), 5000)).toEqual([]);
    expect(s.nextDeadline()).toBe(10_001);
    expect(s.onTick(10_000)).toEqual([]);
    const [firing] = s.onTick(10_001);
    expect(firing?.detail).toMatchObject({ value: 90, samples: 1 });
  });
});

describe('debounce and cooldown', () => {
  it('fires only after the condition has held for the debounce', () => {
    const s = state({ count: { atLeast: 1, within: '10s' }, debounce: '5s' });
    expect(s.onEvent(ev('a'), 0)).toEqual([]);
    expect(s.nextDeadline()).toBe(5000);
    expect(s.onTick(4999)).toEqual([]);
    expect(s.onTick(5000)).toEqual([
      { group: '', at: 5000, detail: expect.objectContaining({ kind: 'count', heldSince: 0, debounce: 5000 }) },
    ]);
  });

  it('does not fire when the condition stops holding inside the debounce', () => {
    const s = state({ aggregate: { fn: 'avg', field: 'data.cpu', op: '>', value: 80, within: '10s' }, debounce: '5s' });
    s.onEvent(ev('a', { cpu: 90 }), 0);
    s.onEvent(ev('a', { cpu: 10 }), 3000);
    expect(s.onTick(5000)).toEqual([]);
  });

  it('holds back a new firing during the cooldown and fires at its end if still true', () => {
    const s = state({ aggregate: { fn: 'max', field: 'data.cpu', op: '>', value: 5, within: '3s' }, cooldown: '10s' });
    expect(s.onEvent(ev('a', { cpu: 10 }), 0).map((f) => f.at)).toEqual([0]);
    expect(s.onEvent(ev('a', { cpu: 1 }), 4000)).toEqual([]);
    expect(s.onEvent(ev('a', { cpu: 10 }), 8000)).toEqual([]);
    expect(s.nextDeadline()).toBe(10_000);
    expect(s.onTick(10_000).map((f) => f.at)).toEqual([10_000]);
  });

  it('keeps cooldowns per group', () => {
    const s = state({ count: { atLeast: 1, within: '1s' }, cooldown: '10s', groupBy: 'subject' });
    expect(firesAt(s, [0, 2000], 'a')).toEqual([0]);
    expect(firesAt(s, [2000], 'b')).toEqual([2000]);
    expect(firesAt(s, [10_000], 'a')).toEqual([10_000]);
  });
});

describe('bounds and snapshots', () => {
  it('forgets the least recently seen group past maxGroups', () => {
    const s = createConditionState(parseWhen({ absent: '1m', groupBy: 'subject' }, ''), { maxGroups: 2 });
    s.onEvent(ev('a'), 0);
    s.onEvent(ev('b'), 1);
    s.onEvent(ev('a'), 2);
    s.onEvent(ev('c'), 3);
    expect(s.onTick(70_000).map((f) => f.group)).toEqual(['a', 'c']);
  });

  it('refuses a snapshot of another kind of condition', () => {
    const count = state({ count: { atLeast: 1, within: '1s' } });
    expect(() => state({ absent: '1s' }).restore(count.snapshot())).toThrow(/snapshot of a 'absent' condition/);
  });
});
