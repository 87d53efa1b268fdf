/**
 * @module The ScalingPolicy model: a validated `kind: ScalingPolicy` manifest in its resolved form
 * (defaults applied, durations in ms, frozen), the decision state a policy keeps between metrics
 * events, and the decision with every step of its arithmetic.
 */
import type { SafetySpec } from '../safety/types.js';

export const SCALING_POLICY_KIND = 'ScalingPolicy';

/** How far one decision may move the desired size: a number of instances or a percentage of it. */
export type MaxStep = { readonly instances: number } | { readonly percent: number };

/** Where the observed value comes from. */
export interface MetricSpec {
  /** The event type to react to. Default 'infra.metrics'. */
  readonly type: string;
  /** Only events from this source (exact), when set; otherwise every source reporting the group. */
  readonly source?: string;
  /** The field as written (`data.rpsPerInstance`), and parsed into path segments from the event root. */
  readonly field: string;
  readonly path: readonly (string | number)[];
  /**
   * The field holds a group total (e.g. `data.rps`) to divide by the instance count. Also implied
   * for a `data.<x>PerInstance` field the event does not carry (derived as `data.<x> / instances`).
   */
  readonly perInstance: boolean;
  /** The field counting the instances the value is spread over. Default `data.instances`. */
  readonly instancesField: string;
  readonly instancesPath: readonly (string | number)[];
  /** Target tracking: the value to keep the metric at; absent for step scaling. */
  readonly target?: number;
}

/** Step scaling: one band of the metric and the adjustment it calls for. */
export type StepSpec =
  { readonly above: number; readonly add: MaxStep } | { readonly below: number; readonly remove: MaxStep };

export interface DirectionSpec {
  /** No second change in this direction within this long after one (ms). */
  readonly cooldownMs: number;
  /**
   * Scale-in: the highest recommendation within this window is used; scale-out: the lowest (ms).
   * HPA `stabilizationWindowSeconds`.
   */
  readonly stabilizationMs: number;
  /** Undefined: unlimited. */
  readonly maxStep?: MaxStep;
}

export interface ScaleToZeroSpec {
  /** Scale to zero after this long without traffic (ms). */
  readonly afterMs: number;
  /** Fields any positive value of which counts as traffic. Default data.rps, data.requests, data.inFlight. */
  readonly activity: readonly { readonly field: string; readonly path: readonly (string | number)[] }[];
}

/** A resolved ScalingPolicy (structurally a PolicyBase of engine/policies/types.ts). */
export interface ScalingPolicySpec {
  readonly kind: typeof SCALING_POLICY_KIND;
  readonly name: string;
  readonly description?: string;
  readonly safety: SafetySpec;
  /** The group as a resource ref, `instancegroup/<g>` (`target: group/<g>` is normalised to it). */
  readonly target: string;
  /** The instance group scaled. */
  readonly group: string;
  /** Narrow the group's own bounds; never below 1 (use scaleToZero for 0). */
  readonly min?: number;
  readonly max?: number;
  readonly metric: MetricSpec;
  /** Present for step scaling (then `metric.target` is absent). */
  readonly steps?: readonly StepSpec[];
  /** Ratios within 1 ± tolerance of the target change nothing (target tracking). Default 0.1. */
  readonly tolerance: number;
  readonly scaleOut: DirectionSpec;
  readonly scaleIn: DirectionSpec;
  readonly scaleToZero?: ScaleToZeroSpec;
}

/** One recommendation kept for the stabilization windows. */
export interface Recommendation {
  readonly at: number;
  readonly desired: number;
}

/** What a policy remembers between decisions. Plain JSON. */
export interface ScalingState {
  /** Within the longest stabilization window, oldest first; consecutive equal values merged. */
  readonly recommendations: readonly Recommendation[];
  readonly lastScaleOutAt?: number;
  readonly lastScaleInAt?: number;
  /** Last time the group had traffic (scale to zero counts idleness from here). */
  readonly lastActiveAt?: number;
  /**
   * When the policy first decided. For one scale-in window from then it scales in no lower than
   * the size it found, as if that size had been recommended then: a new or re-applied policy does
   * not scale in on its first reading.
   */
  readonly since?: number;
}

export const EMPTY_SCALING_STATE: ScalingState = Object.freeze({ recommendations: Object.freeze([]) });

/** One reading of the metric from an event. */
export type MetricReading =
  | {
      readonly ok: true;
      /** The value compared with the target or the steps (per instance when derived). */
      readonly value: number;
      /** The instances the value is spread over (undefined when the event does not say). */
      readonly instances?: number;
      /** The group total the value was derived from (`perInstance`). */
      readonly total?: number;
      /** How it was derived, e.g. `data.rps / data.instances`. */
      readonly derived?: string;
    }
  | {
      readonly ok: false;
      readonly why: string;
      /** Present when the value is a total over zero instances (derivation impossible, total known). */
      readonly total?: number;
      readonly instances?: number;
    };

/** What the decision sees. */
export interface ScalingObservation {
  readonly now: number;
  readonly reading: MetricReading;
  /** Whether the event shows traffic (for scale to zero and activation). */
  readonly active: boolean;
  /** The group's desired size now. */
  readonly current: number;
  /** The group's own bounds. */
  readonly groupMin: number;
  readonly groupMax: number;
  /** Instances the group has now (starting or running): the base when the event does not say. */
  readonly groupInstances: number;
}

export type ScalingDirection = 'up' | 'down' | 'none';

/** Why a decision changed less than recommended, or nothing. */
export type HoldReason =
  | 'tolerance'
  | 'stabilization'
  | 'cooldown'
  | 'max-step'
  | 'bounds'
  | 'no-metric'
  | 'scale-to-zero-not-allowed'
  | 'idle';

/** Every input and intermediate value of a decision, in the order they were computed. */
export interface ScalingArithmetic {
  readonly mode: 'target-tracking' | 'step-scaling' | 'activation' | 'scale-to-zero' | 'hold';
  readonly metric: string;
  readonly value?: number;
  readonly derived?: string;
  readonly total?: number;
  readonly target?: number;
  /** value / target. */
  readonly ratio?: number;
  readonly tolerance?: number;
  /** Instances the value is spread over: the base of target tracking. */
  readonly instances?: number;
  /** The group's desired size before the decision. */
  readonly current: number;
  /** The step that matched (step scaling). */
  readonly step?: StepSpec;
  /** ceil(instances × ratio), or current ± step, before anything else. */
  readonly raw?: number;
  readonly afterTolerance?: number;
  readonly stabilization?: {
    readonly scaleOutWindowMs: number;
    readonly lowestInScaleOutWindow: number;
    readonly scaleInWindowMs: number;
    readonly highestInScaleInWindow: number;
  };
  readonly afterStabilization?: number;
  readonly cooldown?: { readonly direction: 'up' | 'down'; readonly untilMs: number; readonly remainingMs: number };
  readonly afterCooldown?: number;
  /** The most instances this decision may add or remove (absent: unlimited). */
  readonly maxStep?: number;
  readonly afterMaxStep?: number;
  readonly min: number;
  readonly max: number;
  readonly afterMinMax: number;
  readonly idleMs?: number;
  readonly desired: number;
}

export interface ScalingDecision {
  readonly desired: number;
  readonly current: number;
  readonly direction: ScalingDirection;
  /** One sentence: what and why. */
  readonly reason: string;
  /** What kept the decision from the recommendation (first one that applied), if anything. */
  readonly held?: HoldReason;
  readonly arithmetic: ScalingArithmetic;
  /** The state after this decision (recommendation recorded; scale times are recorded by {@link recordScale}). */
  readonly state: ScalingState;
}
