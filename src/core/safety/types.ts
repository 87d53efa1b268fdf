/**
 * @module Safety rails: the resolved per-policy settings every automated action is checked
 * against, and the verdicts. Parsed from a policy's `spec.safety` by `parseSafety` (parse.ts);
 * evaluated by `createRails` (rails.ts). docs/SAFETY.md describes each rail.
 */

/** How a policy's actions are carried out. */
export type SafetyMode = 'enforce' | 'dry-run' | 'approval';

/** Resolved `spec.safety` of a policy (durations in ms). Every field has a default (DEFAULT_SAFETY). */
export interface SafetySpec {
  /** enforce (default): act; dry-run: record what would be done; approval: wait for a human. */
  readonly mode: SafetyMode;
  /** No second action of this policy on the same resource within this. Default 0 (off). */
  readonly cooldownMs: number;
  /** At most `max` actions of this policy per `perMs` (sliding window). Default 60 per minute. */
  readonly rateLimit: { readonly max: number; readonly perMs: number };
  /**
   * At most `maxResources` distinct resources, and at most `maxPercent` % of a group's instances
   * (instance-level actions; never less than one instance), acted on per `perMs`. Defaults: 20
   * resources, 50 %, 10 minutes.
   */
  readonly blastRadius: { readonly maxResources: number; readonly maxPercent: number; readonly perMs: number };
  /**
   * Loop and flap detection: a resource acted on in opposite directions (up/down, stop/start,
   * change/revert) more than `maxReversals` times within `withinMs`, by this policy alone (flap)
   * or by this policy and another undoing each other (loop), is frozen for the policies involved
   * and reported. Defaults: 4 reversals in 10 minutes.
   */
  readonly flap: { readonly maxReversals: number; readonly withinMs: number };
}

/** The rail that refused an action. */
export type Rail = 'cooldown' | 'rate-limit' | 'blast-radius' | 'flap' | 'frozen';

/** Directions flap and loop detection compare: an action and its opposite (up/down, stop/start, change/revert). */
export type ActionDirection = 'up' | 'down' | 'stop' | 'start' | 'change' | 'revert' | 'none';

/** What the rails read of an action request (`ActionRequest` in engine/automation/types.ts has these fields). */
export interface RailRequest {
  readonly action: string;
  /** The resource ref, e.g. `instancegroup/web`, `instance/web-3`. */
  readonly resource: string;
  /** The group an instance-level action's resource belongs to (the base of the % cap). */
  readonly group?: string;
  /** Instances in that group now. */
  readonly groupSize?: number;
  /** Default 'none' (not compared by flap detection). */
  readonly direction?: ActionDirection;
  /** Overrides the policy's mode for this one action. */
  readonly mode?: SafetyMode;
}

export type Verdict =
  | { readonly allow: true }
  | {
      readonly allow: false;
      readonly rail: Rail;
      /** A sentence a human can act on: which limit, the counts, when it frees up. */
      readonly reason: string;
      /** When the same action could pass again (ms since epoch), if known. */
      readonly retryAt?: number;
      /** Policies this refusal froze on the resource (flap: the policy; loop: both policies). */
      readonly froze?: readonly string[];
    };

/** A resource a policy may not act on until someone unfreezes it. */
export interface FrozenResource {
  readonly policy: string;
  readonly resource: string;
  /** When it was frozen (ms since epoch). */
  readonly since: number;
  /** The refusal that froze it. */
  readonly why: string;
}
