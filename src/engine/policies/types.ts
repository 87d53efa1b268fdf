/**
 * @module The contract of a policy kind (ScalingPolicy, HealingPolicy, CompliancePolicy, Budget,
 * IdlePolicy, Schedule). The policy service (service.ts) stores policy manifests, parses them with
 * the kind's `parse`, registers the rules `compile` returns as *managed* rules (listed by
 * `homeostat get rules`, owned by the policy, not editable on their own), configures the action
 * gate with the policy's safety rails, and starts one {@link PolicyInstance} per policy.
 *
 * Compiled rules reach the instance through the built-in `policy` action: a target
 * `{ action: policy, with: { policy: 'ScalingPolicy/web', hook: 'metrics' } }` delivers the matched
 * event (or, for a rule with `when`, the `homeostat.condition.fired` event) to
 * `instance.onEvent('metrics', event)`. Everything it then does to resources goes through
 * `context.gate.submit(...)` with `context.infra` inside `perform`.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import type { SafetySpec } from '../../core/safety/types.js';
import type { ActionGate, InfraControl, Publish } from '../automation/types.js';

/** What every parsed policy has; kinds add their own fields. */
export interface PolicyBase {
  readonly kind: string;
  readonly name: string;
  readonly description?: string;
  /** Resolved `spec.safety` (parseSafety in core/safety/parse.ts); defaults when absent. */
  readonly safety: SafetySpec;
}

/** A rule manifest (`kind: Rule`) a policy compiles to. Its name is prefixed by the service. */
export interface CompiledRule {
  /** Suffix, e.g. 'metrics'; the rule is named `<kind lower-case>.<policy name>.<suffix>`. */
  readonly suffix: string;
  /** The rule's `spec` (match, optional when, targets) exactly as in a Rule manifest. */
  readonly spec: Readonly<Record<string, unknown>>;
}

export interface PolicyContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly infra: InfraControl;
  readonly gate: ActionGate;
  /** Appends events (incidents, budget alerts, anomalies, schedule ticks) through ingest. */
  readonly publish: Publish;
  /** Sends a notification (webhook) as the `http` action would: signed, retried. */
  readonly notify: (url: string, body: unknown, idempotencyKey: string) => Promise<void>;
}

export interface PolicyInstance {
  /** An event delivered by one of the policy's compiled rules; `hook` names which. */
  onEvent(hook: string, event: CloudEvent): Promise<Readonly<Record<string, unknown>> | void>;
  /** What `homeostat get policies` shows: state, last decision, counters. JSON. */
  status(): Readonly<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface PolicyKind<S extends PolicyBase = PolicyBase> {
  readonly kind: string;
  /**
   * Validates a manifest (apiVersion/kind/metadata/spec) and resolves defaults. Throws
   * HomeostatError E_INVALID listing every problem with a JSON pointer (`/spec/target`) and a fix.
   * Pure: no I/O.
   */
  parse(manifest: Readonly<Record<string, unknown>>): S;
  /** The rules this policy runs as. Pure. */
  compile(spec: S): readonly CompiledRule[];
  /** Starts the policy; called again with a new spec after a re-apply (after `close` of the old one). */
  start(spec: S, context: PolicyContext): PolicyInstance | Promise<PolicyInstance>;
}
