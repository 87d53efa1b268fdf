/**
 * @module CompliancePolicy: a CEL condition over resource state that marks resources as violating,
 * the resources it applies to, and the remedy. Parsed by `parseCompliancePolicy` (parse.ts),
 * evaluated by `evaluateCompliance` (evaluate.ts). Reference: docs/COMPLIANCE.md.
 */
import type { CelProgram } from '../cel.js';
import type { ResourceKind } from '../infra/types.js';
import type { SafetySpec } from '../safety/types.js';

export const COMPLIANCE_KIND = 'CompliancePolicy';

/** What happens to a violating resource. */
export const Remedy = {
  /** Converge the resource back to what its stack declares. */
  revert: 'revert',
  /** Apply `spec.patch` (a JSON merge patch of the resource's spec). */
  patch: 'patch',
  /** Stop it: an Instance is stopped (not replaced); an InstanceGroup is scaled to its minimum. */
  stop: 'stop',
  /** Report only: the violation events (and `notify`) are the alert. */
  alert: 'alert',
} as const;
export type Remedy = (typeof Remedy)[keyof typeof Remedy];

/** Which resources a policy applies to: all of `kinds`, narrowed by names and tags. */
export interface ResourceSelector {
  readonly kinds: readonly ResourceKind[];
  /** Names or globs (`web-*`); empty: every name. */
  readonly names: readonly string[];
  /** Tags a resource must all carry with these values; empty: no condition. */
  readonly tags: Readonly<Record<string, string>>;
}

/** A parsed, validated CompliancePolicy (structurally a PolicyBase of engine/policies). */
export interface CompliancePolicySpec {
  readonly kind: typeof COMPLIANCE_KIND;
  readonly name: string;
  readonly description?: string;
  readonly safety: SafetySpec;
  readonly resources: ResourceSelector;
  /** Compiled `spec.violation`: true means the resource violates the policy. */
  readonly violation: CelProgram;
  readonly remedy: Remedy;
  /** The merge patch applied by `remedy: patch`. */
  readonly patch?: Readonly<Record<string, unknown>>;
  /** Remedies wait for `homeostat approve` (unless the policy runs in dry-run). */
  readonly approval: boolean;
  /** Every resource is re-evaluated this often (ms); failed remedies are retried then. */
  readonly everyMs: number;
  /** A webhook URL told about every opened and resolved violation. */
  readonly notify?: string;
}

/** The verdict on one resource. */
export type ComplianceVerdict =
  | { readonly state: 'compliant' }
  | { readonly state: 'violating' }
  /** The expression failed on this resource (e.g. a missing field); neither compliant nor violating. */
  | { readonly state: 'error'; readonly message: string };
