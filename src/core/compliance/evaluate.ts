/** @module Evaluates a CompliancePolicy over one resource: selection, CEL bindings and the verdict (pure). */
import { evaluateCelBoolean } from '../cel.js';
import type { Resource } from '../infra/types.js';
import type { CompliancePolicySpec, ComplianceVerdict, ResourceSelector } from './types.js';

/** True when `name` matches `glob`, where `*` matches any run of characters (possibly empty). */
export function matchesGlob(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  // Linear backtracking over the last star only: no regex, no blow-up.
  while (n < name.length) {
    if (g < glob.length && glob[g] !== '*' && glob[g] === name[n]) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = n;
    } else if (star >= 0) {
      g = star + 1;
      n = ++mark;
    } else return false;
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** True when the selector applies to the resource (its kind, one of its names, all of its tags). */
export function selects(selector: ResourceSelector, resource: Pick<Resource, 'kind' | 'name' | 'tags'>): boolean {
  if (!selector.kinds.includes(resource.kind)) return false;
  if (selector.names.length > 0 && !selector.names.some((g) => matchesGlob(g, resource.name))) return false;
  return Object.entries(selector.tags).every(([k, v]) => resource.tags[k] === v);
}

/**
 * What a `violation` expression sees: `resource` (kind, name, ref, provider, spec, status, tags,
 * pricePerHour; `status` is `{}` when the resource has none) and `now` (epoch milliseconds).
 */
export function complianceBindings(resource: Resource, now: number): Record<string, unknown> {
  return {
    resource: {
      kind: resource.kind,
      name: resource.name,
      ref: `${resource.kind.toLowerCase()}/${resource.name}`,
      provider: resource.provider,
      spec: resource.spec,
      status: resource.status ?? {},
      tags: resource.tags,
      pricePerHour: resource.pricePerHour,
    },
    now,
  };
}

/** The policy's verdict on one resource (which the caller has checked it selects). */
export function evaluateCompliance(spec: CompliancePolicySpec, resource: Resource, now: number): ComplianceVerdict {
  try {
    return evaluateCelBoolean(spec.violation, complianceBindings(resource, now))
      ? { state: 'violating' }
      : { state: 'compliant' };
  } catch (err) {
    return { state: 'error', message: (err as Error).message };
  }
}
