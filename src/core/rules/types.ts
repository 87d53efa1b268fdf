/**
 * @module The rule model: a validated `kind: Rule` manifest in its resolved form (defaults
 * applied, durations in ms, frozen). Produced by `parseRuleManifest` (manifest.ts).
 */
import type { WhenSpec } from '../conditions/types.js';
import type { Pattern } from '../pattern/types.js';

export const RULE_API_VERSION = 'homeostat/v1';

/** The type of the event a rule with `when` appends when its condition fires. */
export const CONDITION_FIRED_TYPE = 'homeostat.condition.fired';
/** Fired events come from `homeostat/rules/<rule name>`. */
export const CONDITION_SOURCE_PREFIX = 'homeostat/rules/';

/** The source of the events a rule's condition fires. */
export function conditionSource(rule: string): string {
  return CONDITION_SOURCE_PREFIX + rule;
}

/** How a failed delivery is retried (times in ms). */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 8; 1 means no retry. */
  readonly maxAttempts: number;
  /** Give up once the event is older than this (since its append). Default 24 h. */
  readonly maxAgeMs: number;
  /** First backoff cap; attempt n waits random(0, min(maxDelay, initial * 2^(n-1))). Default 100. */
  readonly initialDelayMs: number;
  /** Default 60,000. */
  readonly maxDelayMs: number;
}

export interface CircuitBreakerPolicy {
  /** Consecutive failed attempts that open the circuit. Default 10; 0 disables the breaker. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before one trial delivery. Default 30,000. */
  readonly cooldownMs: number;
}

export interface RateLimit {
  /** Sustained deliveries per second. */
  readonly perSecond: number;
  /** Bucket size. Default: perSecond (at least 1). */
  readonly burst: number;
}

/**
 * EventBridge-style input transformer. `paths` name values taken from the event by JSON path
 * (`$.data.status`); `template` is the payload text with `<name>` placeholders. When only `path`
 * is set the payload is that part of the event; with neither the payload is the whole event.
 */
export interface InputTransform {
  readonly path?: string;
  readonly paths?: Readonly<Record<string, string>>;
  readonly template?: string;
}

export interface TargetSpec {
  /** Unique within the rule: the manifest's `name`, or `<action>-<index>`. Part of idempotency keys. */
  readonly id: string;
  /** The action type: http, emit, exec, log (later: scale, restart, ...). */
  readonly action: string;
  /** Action options, validated by the action (see ports/target.ts). */
  readonly with: Readonly<Record<string, unknown>>;
  readonly input?: InputTransform;
  readonly retry: RetryPolicy;
  /** Deliveries in flight at once for this target. Default 16 (1 when `ordered`). */
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  /** Deliver per partition key in log order, one at a time per key. Default false. */
  readonly ordered: boolean;
  readonly circuitBreaker: CircuitBreakerPolicy;
  /** Per-attempt timeout. Default 10,000. */
  readonly timeoutMs: number;
}

export interface RuleSpec {
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly match: Pattern;
  /**
   * A stateful condition. Events `match` matches feed it instead of going to the targets; when it
   * fires, a `homeostat.condition.fired` event is appended and *that* event goes to the targets.
   * For a sequence, `when.sequence.first`/`then` are the step ids `'first'`/`'then'`; the step
   * patterns are in {@link RuleSpec.steps}.
   */
  readonly when?: WhenSpec;
  /** Only with `when.sequence`: the patterns of its two steps (tested on events `match` matched). */
  readonly steps?: SequenceSteps;
  readonly targets: readonly TargetSpec[];
}

/** The step patterns of a sequence condition. */
export interface SequenceSteps {
  readonly first: Pattern;
  readonly then: Pattern;
}

/** A stored rule: its resolved spec plus the manifest as applied (for `get -o yaml`). */
export interface RuleRecord {
  readonly spec: RuleSpec;
  /** The manifest document as given (parsed JSON/YAML), normalised to apiVersion/kind/metadata/spec. */
  readonly manifest: Readonly<Record<string, unknown>>;
  /** Increases on every replace. */
  readonly generation: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Set on rules a policy generates (`ScalingPolicy/web`): change them through the policy. */
  readonly managedBy?: string;
}
