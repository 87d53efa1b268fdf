import { describe, expect, it } from 'vitest';
import { decideScaling, recordScale } from './decide.js';
import { parseScalingPolicy } from './parse.js';
import {
  EMPTY_SCALING_STATE,
  type MetricReading,
  type ScalingObservation,
  type ScalingPolicySpec,
  type ScalingState,
} from './types.js';

const T0 = Date.UTC(2026, 0, 1);

function policy(spec: Record<string, unknown> = {}): ScalingPolicySpec {
  return parseScalingPolicy({
    apiVersion: 'homeostat/v1',
    kind: 'ScalingPolicy',
    metadata: { name: 'web' },
    spec: { target: 'group/web', metric: { field: 'data.rpsPerInstance', target: 100 }, ...spec },
  });
}

/** The flash-sale policy of docs/SCALING.md. */
const flash = policy({
  min: 2,
  max: 20,
  scaleOut: { cooldown: '5s', maxStep: 4 },
  scaleIn: { stabilization: '60s', maxStep: 1, cooldown: '30s' },
});

interface Obs {
  readonly at?: number;
  readonly value?: number;
  readonly instances?: number;
  readonly reading?: MetricReading;
  readonly current?: number;
  readonly active?: boolean;
  readonly groupMin?: number;
  readonly groupMax?: number;
}

function obs(o: Obs): ScalingObservation {
  const current = o.current ?? 3;
  return {
    now: T0 + (o.at ?? 0),
    reading: o.reading ?? { ok: true, value: o.value ?? 100, instances: o.instances ?? current },
    active: o.active ?? true,
    current,
    groupMin: o.groupMin ?? 1,
    groupMax: o.groupMax ?? 100,
    groupInstances: current,
  };
}

/** Feeds observations in order, applying each change as the group would (the gate executes it). */
function run(spec: ScalingPolicySpec, steps: readonly Obs[], start: ScalingState = EMPTY_SCALING_STATE) {
  let state = start;
  let current = steps[0]?.current ?? 3;
  return steps.map((o) => {
    const d = decideScaling(spec, state, obs({ ...o, current, instances: o.instances ?? current }));
    state = d.state;
    if (d.direction !== 'none') {
      state = recordScale(state, d.direction, T0 + (o.at ?? 0));
      current = d.desired;
    }
    return d;
  });
}

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
