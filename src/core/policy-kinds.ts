/** @module The manifest kinds of packaged automation (policies) and of workflows, for CLI routing and messages. */

/** Policy kinds, each served under /v1/policies/<kind>/<name>. */
export const POLICY_KINDS = [
  'ScalingPolicy',
  'HealingPolicy',
  'CompliancePolicy',
  'Budget',
  'IdlePolicy',
  'Schedule',
] as const;
export type PolicyKindName = (typeof POLICY_KINDS)[number];

export const WORKFLOW_KIND = 'Workflow';

export function isPolicyKind(kind: unknown): kind is PolicyKindName {
  return typeof kind === 'string' && (POLICY_KINDS as readonly string[]).includes(kind);
}
