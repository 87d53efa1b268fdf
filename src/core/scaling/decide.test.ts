import { describe, expect, it } from 'vitest';
import { ceilish, decideScaling, matchStep, recordScale, scalingBounds, stepSize } from './decide.js';
import { flash, obs, policy, run, T0 } from './decide.fixtures.js';
import { EMPTY_SCALING_STATE, type MetricReading } from './types.js';

describe('target tracking', () => {
  it('scales out at once on a 10× rise, by at most maxStep, and records the arithmetic', () => {
    const d = decideScaling(flash, EMPTY_SCALING_STATE, obs({ value: 1000, instances: 3, current: 3 }));
    expect(d.desired).toBe(7);
    expect(d.direction).toBe('up');
    expect(d.held).toBe('max-step');
    expect(d.arithmetic).toMatchObject({
      mode: 'target-tracking',
      metric: 'data.rpsPerInstance',
      value: 1000,
      target: 100,
      ratio: 10,
      tolerance: 0.1,
      instances: 3,
      current: 3,
      raw: 30,
      afterTolerance: 30,
      afterStabilization: 30,
      afterCooldown: 30,
      maxStep: 4,
      afterMaxStep: 7,
      min: 2,
      max: 20,
      afterMinMax: 7,
      desired: 7,
    });
    expect(d.reason).toBe('data.rpsPerInstance 1000 vs target 100: 3 × 10 → 30; scale out 3 → 7 (max step 4)');
  });

  it('uses the derived total in the reason', () => {
    const reading: MetricReading = {
      ok: true,
      value: 300,
      instances: 3,
      total: 900,
      derived: 'data.rps / data.instances',
    };
    const d = decideScaling(policy(), EMPTY_SCALING_STATE, obs({ reading, current: 3 }));
    expect(d.desired).toBe(9);
    expect(d.arithmetic.total).toBe(900);
    expect(d.reason).toBe(
      'data.rpsPerInstance 300 (data.rps / data.instances) vs target 100: 3 × 3 → 9; scale out 3 → 9',
    );
  });

  it('multiplies the ratio by the instances the value is spread over, not the desired size', () => {
    // 5 desired, 4 reporting: 4 × 150/100 = 6.
    const d = decideScaling(policy(), EMPTY_SCALING_STATE, obs({ value: 150, instances: 4, current: 5 }));
    expect(d.arithmetic.raw).toBe(6);
    expect(d.desired).toBe(6);
  });

  it('changes nothing within the tolerance, including its edge', () => {
    for (const value of [91, 100, 109, 110, 90]) {
      const d = decideScaling(policy(), EMPTY_SCALING_STATE, obs({ value, current: 10, instances: 10 }));
      expect(d.desired, `value ${value}`).toBe(10);
      expect(d.held === undefined || d.held === 'tolerance').toBe(true);
    }
    const out = decideScaling(policy(), EMPTY_SCALING_STATE, obs({ value: 111, current: 10, instances: 10 }));
    expect(out.desired).toBe(12);
  });

  it('reports the tolerance as what held a change back', () => {
    const d = decideScaling(policy(), EMPTY_SCALING_STATE, obs({ value: 105, current: 10, instances: 10 }));
    expect(d.arithmetic.raw).toBe(11);
    expect(d.arithmetic.afterTolerance).toBe(10);
    expect(d.held).toBe('tolerance');
    expect(d.reason).toMatch(/stay at 10 \(ratio within 1 ± 0.1\)$/);
  });

  it('rounds up without float noise', () => {
    expect(ceilish(3 * 1.1)).toBe(4);
    expect(ceilish(30.000000000000004)).toBe(30);
    expect(ceilish(30.01)).toBe(31);
    expect(ceilish(-5)).toBe(0);
    expect(ceilish(Infinity)).toBe(1_000_000_000);
  });

  it('does not recommend from a metric no instance reports yet', () => {
    const d = decideScaling(policy(), EMPTY_SCALING_STATE, obs({ value: 0, instances: 0, current: 3 }));
    expect(d.desired).toBe(3);
    expect(d.held).toBe('no-metric');
    expect(d.reason).toBe('no recommendation: no instances report the metric yet; stay at 3');
    expect(d.state.recommendations).toEqual([]);
  });

  it('recommends from the total when the group reports zero instances but has traffic', () => {
    const reading: MetricReading = { ok: false, total: 450, instances: 0, why: 'no instances' };
    const d = decideScaling(policy(), EMPTY_SCALING_STATE, obs({ reading, current: 2 }));
    expect(d.arithmetic.raw).toBe(5);
    expect(d.desired).toBe(5);
  });

  it('holds when the metric is missing, but still corrects a size outside the bounds', () => {
    const reading: MetricReading = { ok: false, why: "$.data has no 'rps'" };
    const hold = decideScaling(flash, EMPTY_SCALING_STATE, obs({ reading, current: 5 }));
    expect(hold).toMatchObject({ desired: 5, held: 'no-metric', direction: 'none' });
    expect(hold.reason).toBe("no recommendation: $.data has no 'rps'; stay at 5");
    const fix = decideScaling(flash, EMPTY_SCALING_STATE, obs({ reading, current: 30 }));
    expect(fix).toMatchObject({ desired: 20, held: 'bounds', direction: 'down' });
  });
});

describe('cooldown', () => {
  it('allows no second scale-out within the scale-out cooldown', () => {
    const ds = run(flash, [
      { at: 0, value: 1000 },
      { at: 4_999, value: 1000 },
      { at: 5_000, value: 1000 },
    ]);
    expect(ds.map((d) => d.desired)).toEqual([7, 7, 11]);
    expect(ds[1]!.held).toBe('cooldown');
    expect(ds[1]!.arithmetic.cooldown).toEqual({ direction: 'up', untilMs: T0 + 5_000, remainingMs: 1 });
    expect(ds[1]!.reason).toMatch(/stay at 7 \(scale-out cooldown, 1ms left\)$/);
  });

  it('keeps the scale-in cooldown apart from the scale-out one', () => {
    const spec = policy({ scaleOut: { cooldown: '1m' }, scaleIn: { stabilization: 0, cooldown: '10s' } });
    const ds = run(spec, [
      { at: 0, value: 50, current: 10 },
      { at: 1_000, value: 200 },
      { at: 2_000, value: 50 },
      { at: 11_000, value: 50 },
    ]);
    // in to 5, out at once (no scale-out yet), in again only 10 s after the first scale-in
    expect(ds.map((d) => d.desired)).toEqual([5, 10, 10, 5]);
    expect(ds[2]!.held).toBe('cooldown');
  });
});

describe('scale-in stabilization', () => {
  it('does not scale in while a higher recommendation is in the window, then steps down by maxStep', () => {
    const ds = run(flash, [
      { at: 0, value: 100, current: 10 },
      { at: 10_000, value: 50 },
      { at: 59_000, value: 50 },
      { at: 60_001, value: 50 },
      { at: 90_001, value: 50 },
    ]);
    expect(ds.map((d) => d.desired)).toEqual([10, 10, 10, 9, 8]);
    expect(ds[1]!.held).toBe('stabilization');
    expect(ds[1]!.arithmetic.stabilization).toEqual({
      scaleOutWindowMs: 0,
      lowestInScaleOutWindow: 5,
      scaleInWindowMs: 60_000,
      highestInScaleInWindow: 10,
    });
    expect(ds[1]!.reason).toMatch(/stay at 10 \(scale-in stabilization: 10 recommended within the last 1m\)$/);
    expect(ds[3]!.held).toBe('max-step');
  });

  it('does not scale in on a new policy’s first readings: the size it found counts as recommended at its start', () => {
    const spec = policy({ scaleIn: { stabilization: '60s', cooldown: 0 } });
    const ds = run(spec, [
      { at: 0, value: 10, current: 10 },
      { at: 59_999, value: 10 },
      { at: 60_000, value: 10 },
    ]);
    expect(ds.map((d) => d.desired)).toEqual([10, 10, 1]);
    expect(ds[0]!.held).toBe('stabilization');
    expect(ds[0]!.arithmetic.stabilization?.highestInScaleInWindow).toBe(10);
    expect(ds[0]!.state.since).toBe(T0);
  });

  it('scales in only to the highest recommendation in the window', () => {
    const spec = policy({ scaleIn: { stabilization: '60s', cooldown: 0 } });
    const ds = run(spec, [
      { at: 0, value: 100, current: 10 },
      { at: 30_000, value: 80 },
      { at: 60_001, value: 20 },
    ]);
    // at 60.001 s the window holds 8 (from 30 s) and 2: scale in to 8, not 2
    expect(ds.map((d) => d.desired)).toEqual([10, 10, 8]);
  });

  it('scales out without waiting for the scale-in window', () => {
    const ds = run(flash, [
      { at: 0, value: 100, current: 10 },
      { at: 1_000, value: 50 },
      { at: 2_000, value: 200 },
    ]);
    expect(ds.map((d) => d.desired)).toEqual([10, 10, 14]);
    expect(ds[1]!.held).toBe('stabilization');
  });
});

describe('scale-out stabilization', () => {
  it('scales out only as far as the lowest recommendation in its window', () => {
    const spec = policy({ scaleOut: { stabilization: '10s', cooldown: 0 } });
    const ds = run(spec, [
      { at: 0, value: 100, current: 4 },
      { at: 5_000, value: 300 },
      { at: 10_001, value: 300 },
    ]);
    expect(ds.map((d) => d.desired)).toEqual([4, 4, 12]);
    expect(ds[1]!.held).toBe('stabilization');
    expect(ds[1]!.reason).toMatch(/scale-out stabilization: only 4 recommended throughout the last 10s/);
  });
});

describe('maximum step', () => {
  it('takes a percentage of the current size, rounded up, at least one', () => {
    expect(stepSize({ percent: 50 }, 4)).toBe(2);
    expect(stepSize({ percent: 50 }, 3)).toBe(2);
    expect(stepSize({ percent: 10 }, 1)).toBe(1);
    expect(stepSize({ percent: 100 }, 0)).toBe(1);
    expect(stepSize({ instances: 3 }, 100)).toBe(3);
    expect(stepSize(undefined, 5)).toBe(Infinity);
  });

  it('limits scale-out to 100 % of the current size', () => {
    const spec = policy({ scaleOut: { maxStep: '100%' } });
    const d = decideScaling(spec, EMPTY_SCALING_STATE, obs({ value: 1000, current: 3 }));
    expect(d.desired).toBe(6);
    expect(d.arithmetic.maxStep).toBe(3);
  });

  it('leaves maxStep out of the arithmetic when unlimited', () => {
    const d = decideScaling(policy(), EMPTY_SCALING_STATE, obs({ value: 1000, current: 3 }));
    expect(d.desired).toBe(30);
    expect('maxStep' in d.arithmetic).toBe(false);
  });
});

describe('bounds', () => {
  it('narrows to the tighter of the policy and the group', () => {
    expect(scalingBounds(policy({ min: 2, max: 20 }), 1, 10)).toEqual({ min: 2, max: 10, zeroAllowed: false });
    expect(scalingBounds(policy({ min: 2, max: 20 }), 4, 50)).toEqual({ min: 4, max: 20, zeroAllowed: false });
    expect(scalingBounds(policy(), 0, 5)).toEqual({ min: 1, max: 5, zeroAllowed: false });
    expect(scalingBounds(policy({ scaleToZero: {} }), 0, 5)).toEqual({ min: 1, max: 5, zeroAllowed: true });
    expect(scalingBounds(policy({ min: 8 }), 1, 5)).toEqual({ min: 5, max: 5, zeroAllowed: false });
  });

  it('never recommends outside the bounds', () => {
    const up = decideScaling(policy({ min: 2, max: 20 }), EMPTY_SCALING_STATE, obs({ value: 100_000, current: 18 }));
    expect(up).toMatchObject({ desired: 20, held: 'bounds' });
    expect(up.reason).toMatch(/\(bounds 2\.\.20\)$/);
    const down = decideScaling(
      policy({ min: 2, scaleIn: { stabilization: 0 } }),
      EMPTY_SCALING_STATE,
      obs({ value: 1, current: 3 }),
    );
    expect(down.desired).toBe(2);
  });

  it('moves a size outside the bounds to the nearest bound at once, maxStep and cooldown notwithstanding', () => {
    const state = recordScale(EMPTY_SCALING_STATE, 'up', T0);
    const d = decideScaling(flash, state, obs({ at: 1, value: 100, current: 40 }));
    expect(d.desired).toBe(20);
  });
});

describe('step scaling', () => {
  const steps = policy({
    metric: { field: 'data.latencyMs.p99' },
    steps: [
      { above: 150, add: 2 },
      { above: 300, add: 4 },
      { below: 30, remove: 1 },
      { below: 10, remove: '50%' },
    ],
    scaleIn: { stabilization: 0 },
  });

  it('picks the highest band the value exceeds, else the lowest it is under', () => {
    expect(matchStep(steps.steps!, 200)).toEqual({ above: 150, add: { instances: 2 } });
    expect(matchStep(steps.steps!, 301)).toEqual({ above: 300, add: { instances: 4 } });
    expect(matchStep(steps.steps!, 300)).toEqual({ above: 150, add: { instances: 2 } });
    expect(matchStep(steps.steps!, 20)).toEqual({ below: 30, remove: { instances: 1 } });
    expect(matchStep(steps.steps!, 5)).toEqual({ below: 10, remove: { percent: 50 } });
    expect(matchStep(steps.steps!, 100)).toBeUndefined();
  });

  it('adds and removes from the current size', () => {
    const at = (value: number, current: number) => decideScaling(steps, EMPTY_SCALING_STATE, obs({ value, current }));
    expect(at(400, 5).desired).toBe(9);
    expect(at(200, 5).desired).toBe(7);
    expect(at(100, 5).desired).toBe(5);
    expect(at(20, 5).desired).toBe(4);
    expect(at(5, 6).desired).toBe(3);
    const d = at(400, 5);
    expect(d.arithmetic).toMatchObject({ mode: 'step-scaling', value: 400, step: { above: 300 }, raw: 9 });
    expect(d.arithmetic.ratio).toBeUndefined();
    expect(d.reason).toBe('data.latencyMs.p99 400: above 300: add 4 → 9; scale out 5 → 9');
  });

  it('applies cooldown and bounds to steps too', () => {
    const ds = run(policy({ ...{ metric: { field: 'data.x' } }, steps: [{ above: 1, add: 5 }], max: 8 }), [
      { at: 0, value: 2, current: 2 },
      { at: 1_000, value: 2 },
      { at: 6_000, value: 2 },
    ]);
    expect(ds.map((d) => d.desired)).toEqual([7, 7, 8]);
  });
});
