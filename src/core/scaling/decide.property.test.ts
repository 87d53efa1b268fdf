import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideScaling, recordScale, scalingBounds, stepSize } from './decide.js';
import { parseScalingPolicy } from './parse.js';
import {
  EMPTY_SCALING_STATE,
  type MetricReading,
  type ScalingObservation,
  type ScalingPolicySpec,
  type ScalingState,
} from './types.js';

const T0 = Date.UTC(2026, 0, 1);

const duration = fc.constantFrom(0, 1_000, 5_000, 15_000, 60_000);
const maxStep = fc.option(fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constantFrom('10%', '50%', '100%')), {
  nil: undefined,
});

/** Any valid policy: target tracking or step scaling, with or without bounds, windows, steps and scale to zero. */
const policies = fc
  .record({
    min: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    span: fc.option(fc.integer({ min: 0, max: 25 }), { nil: undefined }),
    steps: fc.boolean(),
    target: fc.integer({ min: 1, max: 200 }),
    tolerance: fc.constantFrom(0, 0.05, 0.1, 0.3),
    out: fc.record({ cooldown: duration, stabilization: duration, maxStep }),
    in: fc.record({ cooldown: duration, stabilization: duration, maxStep }),
    zero: fc.boolean(),
  })
  .map(({ min, span, steps, target, tolerance, out, in: inn, zero }) => {
    const max = span === undefined ? undefined : (min ?? 1) + span;
    // JSON drops an undefined maxStep (unlimited).
    const clean = (d: object): unknown => JSON.parse(JSON.stringify(d));
    const spec: Record<string, unknown> = {
      target: 'group/web',
      metric: steps ? { field: 'data.x' } : { field: 'data.x', target },
      scaleOut: clean(out),
      scaleIn: clean(inn),
      ...(min === undefined ? {} : { min }),
      ...(max === undefined ? {} : { max }),
      ...(steps
        ? {
            steps: [
              { above: target, add: 2 },
              { above: target * 3, add: '100%' },
              { below: target / 2, remove: 1 },
            ],
          }
        : { tolerance }),
      ...(zero ? { scaleToZero: { after: '30s' } } : {}),
    };
    return parseScalingPolicy({ apiVersion: 'homeostat/v1', kind: 'ScalingPolicy', metadata: { name: 'p' }, spec });
  });

interface Tick {
  readonly dt: number;
  readonly value: number | undefined;
  readonly active: boolean;
}

const ticks = fc.array(
  fc.record({
    dt: fc.integer({ min: 0, max: 20_000 }),
    value: fc.option(fc.double({ min: 0, max: 5_000, noNaN: true }), { nil: undefined, freq: 10 }),
    active: fc.boolean(),
  }),
  { minLength: 1, maxLength: 60 },
);

const group = fc.record({
  groupMin: fc.integer({ min: 0, max: 3 }),
  groupSpan: fc.integer({ min: 0, max: 40 }),
  start: fc.integer({ min: 0, max: 50 }),
});

interface Step {
  readonly spec: ScalingPolicySpec;
  readonly before: ScalingState;
  readonly observation: ScalingObservation;
  readonly now: number;
  readonly current: number;
  readonly min: number;
  readonly max: number;
  readonly decision: ReturnType<typeof decideScaling>;
}

/** Runs the policy over the ticks against a group that applies every change at once. */
function simulate(spec: ScalingPolicySpec, g: { groupMin: number; groupSpan: number; start: number }, ts: Tick[]) {
  const groupMax = g.groupMin + g.groupSpan;
  let current = g.start;
  let now = T0;
  let state = EMPTY_SCALING_STATE;
  const out: Step[] = [];
  for (const t of ts) {
    now += t.dt;
    const reading: MetricReading =
      t.value === undefined ? { ok: false, why: 'missing' } : { ok: true, value: t.value, instances: current };
    const observation: ScalingObservation = {
      now,
      reading,
      active: t.active,
      current,
      groupMin: g.groupMin,
      groupMax,
      groupInstances: current,
    };
    const decision = decideScaling(spec, state, observation);
    const { min, max } = scalingBounds(spec, g.groupMin, groupMax);
    out.push({ spec, before: state, observation, now, current, min, max, decision });
    state = decision.state;
    if (decision.direction !== 'none') {
      state = recordScale(state, decision.direction, now);
      current = decision.desired;
    }
  }
  return out;
}

const special = (s: Step) => s.current === 0 || s.decision.arithmetic.mode === 'scale-to-zero';
const inBounds = (s: Step) => s.current >= s.min && s.current <= s.max;

function check(property: (s: Step) => void): void {
  fc.assert(
    fc.property(policies, group, ticks, (spec, g, ts) => {
      for (const s of simulate(spec, g, ts)) property(s);
    }),
    { numRuns: 300 },
  );
}

describe('scaling decisions (properties)', () => {
  it('never end outside min/max, except at zero through scale to zero', () => {
    check((s) => {
      const d = s.decision.desired;
      expect(Number.isInteger(d)).toBe(true);
      if (d === 0 && scalingBounds(s.spec, 0, s.max).zeroAllowed && s.min > 0) return;
      expect(d).toBeGreaterThanOrEqual(s.min);
      expect(d).toBeLessThanOrEqual(s.max);
    });
  });

  it('never move more than maxStep from a size within the bounds', () => {
    check((s) => {
      if (special(s) || !inBounds(s)) return;
      const d = s.decision;
      const limit = stepSize(d.direction === 'up' ? s.spec.scaleOut.maxStep : s.spec.scaleIn.maxStep, s.current);
      expect(Math.abs(d.desired - s.current)).toBeLessThanOrEqual(limit);
    });
  });

  it('never scale in while a recommendation in the scale-in window is higher', () => {
    check((s) => {
      if (special(s) || !inBounds(s) || s.decision.direction !== 'down') return;
      const window = s.decision.state.recommendations.filter((r) => r.at >= s.now - s.spec.scaleIn.stabilizationMs);
      for (const r of window) expect(r.desired).toBeLessThanOrEqual(s.decision.desired);
    });
  });

  it('never scale out past a recommendation in the scale-out window', () => {
    check((s) => {
      if (special(s) || !inBounds(s) || s.decision.direction !== 'up') return;
      const window = s.decision.state.recommendations.filter((r) => r.at >= s.now - s.spec.scaleOut.stabilizationMs);
      for (const r of window) expect(r.desired).toBeGreaterThanOrEqual(s.decision.desired);
    });
  });

  it('take no action in a direction within its cooldown', () => {
    check((s) => {
      if (special(s) || !inBounds(s)) return;
      const { direction } = s.decision;
      if (direction === 'up' && s.before.lastScaleOutAt !== undefined) {
        expect(s.now).toBeGreaterThanOrEqual(s.before.lastScaleOutAt + s.spec.scaleOut.cooldownMs);
      }
      if (direction === 'down' && s.before.lastScaleInAt !== undefined) {
        expect(s.now).toBeGreaterThanOrEqual(s.before.lastScaleInAt + s.spec.scaleIn.cooldownMs);
      }
    });
  });

  it('scale to zero only when the group min is 0, the policy asks for it and traffic stopped long enough', () => {
    fc.assert(
      fc.property(policies, group, ticks, (spec, g, ts) => {
        let lastActive: number | undefined;
        const steps = simulate(spec, g, ts);
        steps.forEach((s, i) => {
          lastActive = ts[i]!.active ? s.now : (lastActive ?? s.now);
          if (s.decision.desired !== 0 || s.current === 0 || s.max === 0) return;
          expect(g.groupMin).toBe(0);
          expect(spec.scaleToZero).toBeDefined();
          expect(s.now - lastActive).toBeGreaterThanOrEqual(spec.scaleToZero!.afterMs);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('are a function of their inputs and record the arithmetic that ends at the decision', () => {
    check((s) => {
      expect(decideScaling(s.spec, s.before, s.observation)).toEqual(s.decision);
      expect(s.decision.arithmetic.desired).toBe(s.decision.desired);
      expect(s.decision.arithmetic.current).toBe(s.current);
      expect(JSON.parse(JSON.stringify(s.decision.arithmetic))).toEqual(s.decision.arithmetic);
      expect(s.decision.reason.length).toBeGreaterThan(0);
    });
  });
});
