/**
 * @module The ScalingPolicy decision: target tracking or step scaling, then tolerance,
 * stabilization, cooldown, maximum step and bounds, in that order (as the Kubernetes HPA), plus
 * scale to zero and activation. Pure: time comes in the observation.
 */
import { explain } from './explain.js';
import type {
  HoldReason,
  MaxStep,
  ScalingArithmetic,
  ScalingDecision,
  ScalingObservation,
  ScalingPolicySpec,
  ScalingState,
  StepSpec,
} from './types.js';
import { pushRecommendation, stabilize, windowExtremes } from './window.js';

/** Recommendations above this are capped (keeps the arithmetic finite for absurd readings). */
export const MAX_RECOMMENDED = 1_000_000_000;

type Arithmetic = { -readonly [K in keyof ScalingArithmetic]: ScalingArithmetic[K] };

/** The arithmetic's fields in the order they are computed (how records and status show them); every field, checked by type. */
const ORDER = Object.keys({
  mode: 1,
  metric: 1,
  value: 1,
  derived: 1,
  total: 1,
  instances: 1,
  target: 1,
  ratio: 1,
  tolerance: 1,
  step: 1,
  current: 1,
  raw: 1,
  afterTolerance: 1,
  stabilization: 1,
  afterStabilization: 1,
  cooldown: 1,
  afterCooldown: 1,
  maxStep: 1,
  afterMaxStep: 1,
  min: 1,
  max: 1,
  afterMinMax: 1,
  idleMs: 1,
  desired: 1,
} satisfies Record<keyof ScalingArithmetic, 1>) as (keyof ScalingArithmetic)[];

/** The bounds a decision ends within; 0 only through scale to zero. */
export interface ScalingBounds {
  readonly min: number;
  readonly max: number;
  /** The policy has `scaleToZero` and the group's own min is 0. */
  readonly zeroAllowed: boolean;
}

/** The policy's min/max narrowed by the group's (never wider), the floor at least 1 unless max is 0. */
export function scalingBounds(spec: ScalingPolicySpec, groupMin: number, groupMax: number): ScalingBounds {
  const max = Math.max(0, Math.min(groupMax, spec.max ?? groupMax));
  const floor = Math.max(1, groupMin, spec.min ?? 1);
  return { min: Math.min(floor, max), max, zeroAllowed: spec.scaleToZero !== undefined && groupMin === 0 };
}

/** Rounds up, ignoring float noise below 1e-9 (3 × 1.1 is 3.3000000000000003, which needs 4, not 5). */
export function ceilish(x: number): number {
  const capped = Math.min(Math.max(x, 0), MAX_RECOMMENDED);
  return Math.ceil(Math.round(capped * 1e9) / 1e9);
}

/** Instances a step or a maximum step stands for at `current`: a percentage rounds up, to at least 1. */
export function stepSize(step: MaxStep | undefined, current: number): number {
  if (step === undefined) return Infinity;
  if ('instances' in step) return step.instances;
  return Math.max(1, ceilish((current * step.percent) / 100));
}

/** The step for `value`: the highest `above` it exceeds, else the lowest `below` it is under. */
export function matchStep(steps: readonly StepSpec[], value: number): StepSpec | undefined {
  let up: StepSpec | undefined;
  let down: StepSpec | undefined;
  for (const s of steps) {
    if ('above' in s && value > s.above && (up === undefined || s.above > (up as { above: number }).above)) up = s;
    if ('below' in s && value < s.below && (down === undefined || s.below < (down as { below: number }).below))
      down = s;
  }
  return up ?? down;
}

/** Records that the group was scaled (the gate executed it): starts that direction's cooldown. */
export function recordScale(state: ScalingState, direction: 'up' | 'down', at: number): ScalingState {
  return direction === 'up' ? { ...state, lastScaleOutAt: at } : { ...state, lastScaleInAt: at };
}

const clamp = (n: number, min: number, max: number): number => Math.min(Math.max(n, min), max);

/** The raw recommendation from the metric, or why there is none. */
function recommend(spec: ScalingPolicySpec, obs: ScalingObservation, a: Arithmetic): string | undefined {
  const r = obs.reading;
  if (r.ok) {
    a.value = r.value;
    if (r.derived !== undefined) a.derived = r.derived;
    if (r.total !== undefined) a.total = r.total;
  } else if (r.total !== undefined) {
    a.total = r.total;
  }
  if (spec.steps !== undefined) {
    if (!r.ok) return r.why;
    const step = matchStep(spec.steps, r.value);
    if (step !== undefined) a.step = step;
    const c = obs.current;
    a.raw =
      step === undefined ? c : 'above' in step ? c + stepSize(step.add, c) : Math.max(0, c - stepSize(step.remove, c));
    a.afterTolerance = a.raw;
    return undefined;
  }
  const target = spec.metric.target!;
  a.target = target;
  a.tolerance = spec.tolerance;
  if (r.ok) {
    const instances = r.instances ?? obs.groupInstances;
    a.instances = instances;
    a.ratio = r.value / target;
    if (instances === 0) return 'no instances report the metric yet';
    a.raw = ceilish(instances * a.ratio);
  } else if (r.total !== undefined) {
    a.instances = 0;
    a.raw = ceilish(r.total / target);
  } else {
    return r.why;
  }
  // The epsilon keeps 110 / 100 (1.1000000000000001) inside a tolerance of 0.1.
  const within = a.ratio !== undefined && Math.abs(a.ratio - 1) <= spec.tolerance + 1e-9;
  a.afterTolerance = within ? obs.current : a.raw;
  return undefined;
}

function coolingUntil(spec: ScalingPolicySpec, state: ScalingState, direction: 'up' | 'down'): number | undefined {
  const last = direction === 'up' ? state.lastScaleOutAt : state.lastScaleInAt;
  const ms = direction === 'up' ? spec.scaleOut.cooldownMs : spec.scaleIn.cooldownMs;
  return last === undefined || ms === 0 ? undefined : last + ms;
}

/** The first stage that kept the result from the raw recommendation. */
function heldBy(a: Arithmetic): HoldReason | undefined {
  if (a.raw !== undefined && a.raw !== a.current && a.afterTolerance === a.current) return 'tolerance';
  if (a.afterStabilization !== a.afterTolerance) return 'stabilization';
  if (a.afterCooldown !== a.afterStabilization) return 'cooldown';
  if (a.afterMaxStep !== a.afterCooldown) return 'max-step';
  if (a.afterMinMax !== a.afterMaxStep) return 'bounds';
  return undefined;
}

function finish(
  a: Arithmetic,
  state: ScalingState,
  spec: ScalingPolicySpec,
  held: HoldReason | undefined,
  note?: string,
): ScalingDecision {
  const desired = a.desired;
  const direction = desired > a.current ? 'up' : desired < a.current ? 'down' : 'none';
  const arithmetic = Object.freeze(
    Object.fromEntries(ORDER.filter((k) => a[k] !== undefined).map((k) => [k, a[k]])) as unknown as ScalingArithmetic,
  );
  return {
    desired,
    current: a.current,
    direction,
    reason: explain(spec, arithmetic, held, note),
    ...(held === undefined ? {} : { held }),
    arithmetic,
    state,
  };
}

/** From zero (or below the floor with nothing to say), straight to what the traffic needs. */
function activate(
  spec: ScalingPolicySpec,
  state: ScalingState,
  obs: ScalingObservation,
  bounds: ScalingBounds,
): ScalingDecision {
  const a: Arithmetic = {
    mode: 'activation',
    metric: spec.metric.field,
    current: obs.current,
    min: 0,
    max: 0,
    afterMinMax: 0,
    desired: 0,
  };
  const none = recommend(spec, obs, a);
  const raw = Math.max(1, none === undefined ? (a.afterTolerance ?? 1) : 1);
  a.raw = raw;
  const step = stepSize(spec.scaleOut.maxStep, obs.current);
  if (Number.isFinite(step)) a.maxStep = step;
  a.afterMaxStep = Math.min(raw, obs.current + step);
  Object.assign(a, { min: bounds.min, max: bounds.max });
  a.afterMinMax = clamp(a.afterMaxStep, bounds.min, bounds.max);
  a.desired = a.afterMinMax;
  const history = pushRecommendation(state.recommendations, raw, obs.now, keepMs(spec));
  const note = obs.active ? 'traffic at zero instances' : 'below the minimum';
  return finish(
    a,
    { ...state, recommendations: history },
    spec,
    a.afterMinMax !== a.afterMaxStep ? 'bounds' : undefined,
    note,
  );
}

const keepMs = (spec: ScalingPolicySpec): number =>
  Math.max(spec.scaleIn.stabilizationMs, spec.scaleOut.stabilizationMs);

/**
 * Decides the group's desired size from one observation. Returns the decision with its
 * arithmetic and the next state (the recommendation recorded, the idle clock moved); call
 * {@link recordScale} once the change is carried out, so its cooldown starts.
 */
export function decideScaling(spec: ScalingPolicySpec, state: ScalingState, obs: ScalingObservation): ScalingDecision {
  const now = obs.now;
  const lastActiveAt = obs.active ? now : (state.lastActiveAt ?? now);
  const base: ScalingState = { ...state, lastActiveAt, since: state.since ?? now };
  const bounds = scalingBounds(spec, obs.groupMin, obs.groupMax);
  if (obs.current === 0 && bounds.max > 0) {
    if (bounds.zeroAllowed && !obs.active) {
      const a: Arithmetic = {
        mode: 'hold',
        metric: spec.metric.field,
        current: 0,
        min: 0,
        max: bounds.max,
        afterMinMax: 0,
        idleMs: now - lastActiveAt,
        desired: 0,
      };
      return finish(a, base, spec, 'idle');
    }
    return activate(spec, base, obs, bounds);
  }
  const a: Arithmetic = {
    mode: spec.steps === undefined ? 'target-tracking' : 'step-scaling',
    metric: spec.metric.field,
    current: obs.current,
    min: bounds.min,
    max: bounds.max,
    afterMinMax: 0,
    desired: 0,
  };
  const why = recommend(spec, obs, a);
  if (why !== undefined) {
    a.mode = 'hold';
    a.afterMinMax = clamp(obs.current, bounds.min, bounds.max);
    a.desired = a.afterMinMax;
    return finish(a, base, spec, a.desired === obs.current ? 'no-metric' : 'bounds', why);
  }
  const rec = a.afterTolerance!;
  const history = pushRecommendation(state.recommendations, rec, now, keepMs(spec));
  const next: ScalingState = { ...base, recommendations: history };
  const extremes = windowExtremes(history, now, spec.scaleOut.stabilizationMs, spec.scaleIn.stabilizationMs);
  const { lowest } = extremes;
  const young = now - next.since! < spec.scaleIn.stabilizationMs;
  const highest = young ? Math.max(extremes.highest, obs.current) : extremes.highest;
  a.stabilization = {
    scaleOutWindowMs: spec.scaleOut.stabilizationMs,
    lowestInScaleOutWindow: lowest,
    scaleInWindowMs: spec.scaleIn.stabilizationMs,
    highestInScaleInWindow: highest,
  };
  a.afterStabilization = stabilize(obs.current, lowest, highest);
  limit(spec, state, a, now);
  a.afterMinMax = clamp(a.afterMaxStep!, bounds.min, bounds.max);
  a.desired = a.afterMinMax;
  return toZero(spec, next, obs, bounds, a) ?? finish(a, next, spec, heldBy(a));
}

/** Cooldown and maximum step, in the direction the stabilized recommendation points. */
function limit(spec: ScalingPolicySpec, state: ScalingState, a: Arithmetic, now: number): void {
  const current = a.current;
  const wanted = a.afterStabilization!;
  const direction = wanted > current ? 'up' : wanted < current ? 'down' : undefined;
  a.afterCooldown = wanted;
  if (direction === undefined) {
    a.afterMaxStep = wanted;
    return;
  }
  const until = coolingUntil(spec, state, direction);
  if (until !== undefined && now < until) {
    a.cooldown = { direction, untilMs: until, remainingMs: until - now };
    a.afterCooldown = current;
  }
  const step = stepSize(direction === 'up' ? spec.scaleOut.maxStep : spec.scaleIn.maxStep, current);
  if (Number.isFinite(step)) a.maxStep = step;
  a.afterMaxStep =
    direction === 'up' ? Math.min(a.afterCooldown, current + step) : Math.max(a.afterCooldown, current - step);
}

/** Scale to zero after `scaleToZero.after` without traffic, when the group's min is 0. */
function toZero(
  spec: ScalingPolicySpec,
  state: ScalingState,
  obs: ScalingObservation,
  bounds: ScalingBounds,
  a: Arithmetic,
): ScalingDecision | undefined {
  const idleMs = obs.now - state.lastActiveAt!;
  if (spec.scaleToZero === undefined || obs.active || idleMs < spec.scaleToZero.afterMs) return undefined;
  a.idleMs = idleMs;
  if (!bounds.zeroAllowed) {
    const note = `idle but the group's min is ${obs.groupMin}; give the group min: 0 to allow scaling to zero`;
    return finish(a, state, spec, heldBy(a) ?? 'scale-to-zero-not-allowed', note);
  }
  a.mode = 'scale-to-zero';
  a.desired = 0;
  return finish(a, state, spec, undefined);
}
