/** Fixtures shared by the scaling decision tests: a policy parser, the flash-sale policy, observations, a driver. */
import { decideScaling, recordScale } from './decide.js';
import { parseScalingPolicy } from './parse.js';
import {
  EMPTY_SCALING_STATE,
  type MetricReading,
  type ScalingObservation,
  type ScalingPolicySpec,
  type ScalingState,
} from './types.js';

export const T0 = Date.UTC(2026, 0, 1);

export function policy(spec: Record<string, unknown> = {}): ScalingPolicySpec {
  return parseScalingPolicy({
    apiVersion: 'homeostat/v1',
    kind: 'ScalingPolicy',
    metadata: { name: 'web' },
    spec: { target: 'group/web', metric: { field: 'data.rpsPerInstance', target: 100 }, ...spec },
  });
}

/** The flash-sale policy of docs/SCALING.md. */
export const flash = policy({
  min: 2,
  max: 20,
  scaleOut: { cooldown: '5s', maxStep: 4 },
  scaleIn: { stabilization: '60s', maxStep: 1, cooldown: '30s' },
});

export interface Obs {
  readonly at?: number;
  readonly value?: number;
  readonly instances?: number;
  readonly reading?: MetricReading;
  readonly current?: number;
  readonly active?: boolean;
  readonly groupMin?: number;
  readonly groupMax?: number;
}

export function obs(o: Obs): ScalingObservation {
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
export function run(spec: ScalingPolicySpec, steps: readonly Obs[], start: ScalingState = EMPTY_SCALING_STATE) {
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
