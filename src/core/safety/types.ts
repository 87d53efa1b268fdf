/**
 * @module Safety rails: the resolved per-policy settings every automated action is checked
 * against, and the verdicts. Parsed from a policy's `spec.safety` by `parseSafety` (parse.ts).
 */

/** How a policy's actions are carried out. */
export type SafetyMode = 'enforce' | 'dry-run' | 'approval';

/** Resolved `spec.safety` of a policy (durations in ms). Every field has a default. */
export interface SafetySpec {
  /** enforce (default): act; dry-run: record what would be done; approval: wait for a human. */
  readonly mode: SafetyMode;
  /** No second action on the same resource within this. Default 0 (off). */
  readonly cooldownMs: number;
  /** At most `max` actions of this policy per `perMs`. Default 60 per minute. */
  readonly rateLimit: { readonly max: number; readonly perMs: number };
  /**
   * At most `maxResources` distinct resources, and at most `maxPercent` % of a group's instances
   * (instance-level actions), acted on per `perMs`. Defaults: 20 resources, 50 %, 10 minutes.
   */
  readonly blastRadius: { readonly maxResources: number; readonly maxPercent: number; readonly perMs: number };
  /**
   * Loop and flap detection: a resource acted on in opposite directions (up/down, stop/start,
   * patch/revert) more than `maxReversals` times within `withinMs` is frozen for this policy and
   * reported. Defaults: 4 reversals in 10 minutes.
   */
  readonly flap: { readonly maxReversals: number; readonly withinMs: number };
}

/** The rail that refused an action. */
export type Rail = 'cooldown' | 'rate-limit' | 'blast-radius' | 'flap' | 'frozen';

export type Verdict =
  | { readonly allow: true }
  | {
      readonly allow: false;
      readonly rail: Rail;
      /** A sentence a human can act on: which limit, the counts, when it frees up. */
      readonly reason: string;
      /** When the same action could pass again (ms since epoch), if known. */
      readonly retryAt?: number;
    };
