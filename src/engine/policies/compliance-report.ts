/**
 * @module What compliance keeps per CompliancePolicy (resources evaluated, open and closed
 * violations, time to remediate) and the report built from it (`GET /v1/compliance`,
 * `homeostat compliance`). In memory: rebuilt from the resources' current state at start.
 */
import type { CompliancePolicySpec, Remedy } from '../../core/compliance/types.js';
import type { SafetyMode } from '../../core/safety/types.js';
import type { ActionOutcome } from '../automation/types.js';

/** One remedy attempt, as the gate recorded it. */
export interface RemedyAttempt {
  /** The action id (`homeostat.action.*` event id). */
  readonly id: string;
  readonly outcome: ActionOutcome;
  readonly at: number;
  readonly why?: string;
  readonly approval?: string;
}

export interface Violation {
  readonly id: string;
  /** `securityrule/ssh`. */
  readonly resource: string;
  readonly provider: string;
  /** When the change that caused it happened (the trigger event's time), if known. */
  readonly occurredAt?: number;
  readonly detectedAt: number;
  /** The event that revealed it (a change event), absent when a scan found it. */
  readonly trigger?: string;
  /** The id of the `compliance.violation.opened` event. */
  readonly openedEvent: string;
  readonly remedy: Remedy;
  readonly attempts: RemedyAttempt[];
  /** Set when a remedy ran and the resource still violates the policy. */
  note?: string;
}

export type Resolution = 'compliant' | 'deleted' | 'out-of-scope';

export interface ClosedViolation extends Violation {
  readonly resolvedAt: number;
  readonly resolution: Resolution;
  /** The event or action whose effect was observed compliant. */
  readonly resolvedBy?: string;
  /** resolvedAt − detectedAt. */
  readonly timeToRemediateMs: number;
}

export interface ResourceState {
  readonly state: 'compliant' | 'violating' | 'error';
  readonly at: number;
  readonly message?: string;
}

/** Everything kept about one policy; survives a re-apply of the same policy. */
export interface PolicyState {
  spec: CompliancePolicySpec;
  active: boolean;
  readonly resources: Map<string, ResourceState>;
  readonly open: Map<string, Violation>;
  /** Newest last; at most `history` entries. */
  readonly closed: ClosedViolation[];
  readonly ttr: { count: number; sumMs: number; maxMs: number };
  lastScanAt?: number;
}

export function newPolicyState(spec: CompliancePolicySpec): PolicyState {
  return {
    spec,
    active: true,
    resources: new Map(),
    open: new Map(),
    closed: [],
    ttr: { count: 0, sumMs: 0, maxMs: 0 },
  };
}

export interface AttemptView {
  readonly action: string;
  readonly outcome: ActionOutcome;
  readonly at: string;
  readonly why?: string;
  readonly approval?: string;
}

export interface OpenViolationView {
  readonly id: string;
  readonly resource: string;
  readonly provider: string;
  readonly since: string;
  readonly trigger?: string;
  readonly remedy: Remedy;
  /** The latest attempt's outcome; absent for alert-only policies. */
  readonly outcome?: ActionOutcome;
  readonly attempts: readonly AttemptView[];
  readonly note?: string;
}

export interface ClosedViolationView {
  readonly id: string;
  readonly resource: string;
  readonly detectedAt: string;
  readonly resolvedAt: string;
  readonly resolution: Resolution;
  readonly timeToDetectMs?: number;
  readonly timeToRemediateMs: number;
  readonly trigger?: string;
  readonly actions: readonly string[];
  readonly resolvedBy?: string;
}

export interface TimeToRemediate {
  readonly count: number;
  readonly meanMs: number | null;
  readonly maxMs: number | null;
}

export interface CompliancePolicyReport {
  /** `CompliancePolicy/<name>`. */
  readonly policy: string;
  readonly name: string;
  readonly description?: string;
  readonly violation: string;
  readonly remedy: Remedy;
  readonly approval: boolean;
  readonly mode: SafetyMode;
  readonly everyMs: number;
  readonly lastScanAt?: string;
  readonly evaluated: number;
  readonly compliant: number;
  readonly violating: number;
  /** Resources the expression failed on, with why. */
  readonly errors: readonly { readonly resource: string; readonly message: string }[];
  readonly open: readonly OpenViolationView[];
  /** Newest first. */
  readonly closed: readonly ClosedViolationView[];
  readonly timeToRemediate: TimeToRemediate;
}

export interface ComplianceReport {
  readonly at: string;
  readonly totals: {
    readonly policies: number;
    readonly evaluated: number;
    readonly compliant: number;
    readonly violating: number;
    readonly errors: number;
    readonly open: number;
    readonly timeToRemediate: TimeToRemediate;
  };
  readonly policies: readonly CompliancePolicyReport[];
}

const iso = (ms: number) => new Date(ms).toISOString();

function attemptView(a: RemedyAttempt): AttemptView {
  return {
    action: a.id,
    outcome: a.outcome,
    at: iso(a.at),
    ...(a.why === undefined ? {} : { why: a.why }),
    ...(a.approval === undefined ? {} : { approval: a.approval }),
  };
}

function openView(v: Violation): OpenViolationView {
  const last = v.attempts[v.attempts.length - 1];
  return {
    id: v.id,
    resource: v.resource,
    provider: v.provider,
    since: iso(v.detectedAt),
    ...(v.trigger === undefined ? {} : { trigger: v.trigger }),
    remedy: v.remedy,
    ...(last === undefined ? {} : { outcome: last.outcome }),
    attempts: v.attempts.map(attemptView),
    ...(v.note === undefined ? {} : { note: v.note }),
  };
}

function closedView(v: ClosedViolation): ClosedViolationView {
  return {
    id: v.id,
    resource: v.resource,
    detectedAt: iso(v.detectedAt),
    resolvedAt: iso(v.resolvedAt),
    resolution: v.resolution,
    ...(v.occurredAt === undefined ? {} : { timeToDetectMs: Math.max(0, v.detectedAt - v.occurredAt) }),
    timeToRemediateMs: v.timeToRemediateMs,
    ...(v.trigger === undefined ? {} : { trigger: v.trigger }),
    actions: v.attempts.map((a) => a.id),
    ...(v.resolvedBy === undefined ? {} : { resolvedBy: v.resolvedBy }),
  };
}

function ttrOf(t: PolicyState['ttr']): TimeToRemediate {
  return {
    count: t.count,
    meanMs: t.count === 0 ? null : Math.round(t.sumMs / t.count),
    maxMs: t.count === 0 ? null : t.maxMs,
  };
}

export function policyReport(s: PolicyState): CompliancePolicyReport {
  const states = [...s.resources.entries()];
  const count = (state: ResourceState['state']) => states.filter(([, r]) => r.state === state).length;
  return {
    policy: `${s.spec.kind}/${s.spec.name}`,
    name: s.spec.name,
    ...(s.spec.description === undefined ? {} : { description: s.spec.description }),
    violation: s.spec.violation.source,
    remedy: s.spec.remedy,
    approval: s.spec.approval,
    mode: s.spec.safety.mode,
    everyMs: s.spec.everyMs,
    ...(s.lastScanAt === undefined ? {} : { lastScanAt: iso(s.lastScanAt) }),
    evaluated: states.length,
    compliant: count('compliant'),
    violating: count('violating'),
    errors: states
      .filter(([, r]) => r.state === 'error')
      .map(([resource, r]) => ({ resource, message: r.message ?? 'evaluation failed' })),
    open: [...s.open.values()].sort((a, b) => a.detectedAt - b.detectedAt).map(openView),
    closed: [...s.closed].reverse().map(closedView),
    timeToRemediate: ttrOf(s.ttr),
  };
}

export function complianceReport(states: readonly PolicyState[], now: number): ComplianceReport {
  const policies = states.map(policyReport).sort((a, b) => (a.name < b.name ? -1 : 1));
  const sum = (f: (p: CompliancePolicyReport) => number) => policies.reduce((n, p) => n + f(p), 0);
  const ttr = states.reduce(
    (t, s) => ({ count: t.count + s.ttr.count, sumMs: t.sumMs + s.ttr.sumMs, maxMs: Math.max(t.maxMs, s.ttr.maxMs) }),
    { count: 0, sumMs: 0, maxMs: 0 },
  );
  return {
    at: iso(now),
    totals: {
      policies: policies.length,
      evaluated: sum((p) => p.evaluated),
      compliant: sum((p) => p.compliant),
      violating: sum((p) => p.violating),
      errors: sum((p) => p.errors.length),
      open: sum((p) => p.open.length),
      timeToRemediate: ttrOf(ttr),
    },
    policies,
  };
}
