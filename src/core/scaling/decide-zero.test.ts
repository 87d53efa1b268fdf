import { describe, expect, it } from 'vitest';
import { decideScaling, recordScale } from './decide.js';
import { flash, obs, policy, run, T0 } from './decide.fixtures.js';
import { EMPTY_SCALING_STATE, type MetricReading } from './types.js';

describe('scale to zero', () => {
  const zero = policy({ min: 2, scaleToZero: { after: '10m' }, scaleIn: { stabilization: '60s', cooldown: 0 } });
  const idle = { value: 0, active: false, groupMin: 0 };

  it('scales to zero after the idle time when the group allows it', () => {
    const ds = run(zero, [
      { at: 0, ...idle, current: 2 },
      { at: 599_999, ...idle },
      { at: 600_000, ...idle },
      { at: 700_000, ...idle },
    ]);
    expect(ds.map((d) => d.desired)).toEqual([2, 2, 0, 0]);
    expect(ds[2]!.arithmetic).toMatchObject({ mode: 'scale-to-zero', idleMs: 600_000, desired: 0 });
    expect(ds[2]!.reason).toBe('no traffic for 10m: scale in 2 → 0');
    expect(ds[3]).toMatchObject({ direction: 'none', held: 'idle' });
    expect(ds[3]!.reason).toBe('no traffic for 700s: stay at zero');
  });

  it('counts idleness from the last traffic', () => {
    const ds = run(zero, [
      { at: 0, ...idle, current: 2 },
      { at: 300_000, value: 10, active: true, groupMin: 0 },
      { at: 600_000, ...idle },
      { at: 900_000, ...idle },
    ]);
    expect(ds.map((d) => d.desired)).toEqual([2, 2, 2, 0]);
  });

  it('does not scale to zero when the group min is above zero, and says so', () => {
    const ds = run(zero, [
      { at: 0, ...idle, groupMin: 1, current: 2 },
      { at: 600_000, ...idle, groupMin: 1 },
    ]);
    expect(ds[1]!.desired).toBe(2);
    expect(ds[1]!.held).toBe('bounds');
    expect(ds[1]!.reason).toMatch(/idle but the group's min is 1; give the group min: 0/);
  });

  it('activates from zero on any traffic, to what the total needs, skipping the cooldown', () => {
    const state = recordScale(EMPTY_SCALING_STATE, 'up', T0);
    const reading: MetricReading = { ok: false, total: 450, instances: 0, why: 'no instances' };
    const d = decideScaling(zero, state, obs({ at: 1, reading, current: 0, groupMin: 0, active: true }));
    expect(d).toMatchObject({ desired: 5, direction: 'up' });
    expect(d.arithmetic).toMatchObject({ mode: 'activation', raw: 5, min: 2, afterMinMax: 5 });
    expect(d.reason).toBe('450 in total at target 100 per instance → 5; traffic at zero instances; scale out 0 → 5');
  });

  it('activates to at least the minimum, within the scale-out maxStep', () => {
    const spec = policy({ min: 2, scaleToZero: {}, scaleOut: { maxStep: 3 } });
    const reading: MetricReading = { ok: false, total: 2_000, instances: 0, why: 'no instances' };
    expect(decideScaling(spec, EMPTY_SCALING_STATE, obs({ reading, current: 0, groupMin: 0 })).desired).toBe(3);
    const little: MetricReading = { ok: false, total: 1, instances: 0, why: 'no instances' };
    expect(decideScaling(spec, EMPTY_SCALING_STATE, obs({ reading: little, current: 0, groupMin: 0 })).desired).toBe(2);
  });

  it('starts one instance for a metric that says nothing at zero instances', () => {
    const spec = policy({ metric: { field: 'data.cpu.avg', target: 0.5 }, scaleToZero: {} });
    const d = decideScaling(spec, EMPTY_SCALING_STATE, obs({ value: 0, instances: 0, current: 0, groupMin: 0 }));
    expect(d.desired).toBe(1);
  });

  it('brings a group at zero up to the minimum when the policy has no scaleToZero', () => {
    const d = decideScaling(flash, EMPTY_SCALING_STATE, obs({ value: 0, current: 0, groupMin: 0, active: false }));
    expect(d.desired).toBe(2);
    expect(d.reason).toMatch(/below the minimum; scale out 0 → 2/);
  });

  it('stays at zero when the group max is zero', () => {
    const d = decideScaling(flash, EMPTY_SCALING_STATE, obs({ value: 500, current: 0, groupMin: 0, groupMax: 0 }));
    expect(d.desired).toBe(0);
  });

  it('does not scale a freshly started policy to zero before the idle time', () => {
    const d = decideScaling(zero, EMPTY_SCALING_STATE, obs({ ...idle, current: 2 }));
    expect(d.desired).toBe(2);
    expect(d.state.lastActiveAt).toBe(T0);
  });
});
