/** @module The plan (what must change so observed resources match a stack) and drift, by field-level diff (pure). */
import { pointerSegment } from '../errors.js';
import { isRecord } from '../rules/manifest-reader.js';
import { RESERVED_TAG_PREFIX, STACK_TAG } from './stack.js';
import { type DesiredResource, type Resource, type ResourceKind, type ResourceRef, resourceRef } from './types.js';

/**
 * One field that differs, as a JSON pointer into the resource (`/spec/algorithm`,
 * `/spec/template/env/WORK_MS`, `/tags/team`, `/provider`); `before` is the observed value and
 * `after` the declared one, each undefined when absent.
 */
export interface FieldDiff {
  readonly pointer: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** One step of a plan. `update` carries the field diff; `replace` means delete then create (provider changed). */
export type PlanChange =
  | { readonly op: 'create'; readonly ref: ResourceRef; readonly resource: DesiredResource }
  | {
      readonly op: 'update';
      readonly ref: ResourceRef;
      readonly resource: DesiredResource;
      readonly observed: Resource;
      readonly diff: readonly FieldDiff[];
      readonly replace: boolean;
    }
  | { readonly op: 'delete'; readonly ref: ResourceRef; readonly resource: Resource };

/** The changes in the order to apply them, and how many declared resources already match. */
export interface Plan {
  readonly changes: readonly PlanChange[];
  readonly unchanged: number;
}

export interface PlanOptions {
  /** The stack's name: the value of the `homeostat.io/stack` tag. */
  readonly stack: string;
  /** Delete resources tagged with this stack that it no longer declares. */
  readonly prune: boolean;
  /**
   * Groups whose size automation owns (a ScalingPolicy, IdlePolicy or Schedule): their observed
   * `desired` is kept, so applying the stack again does not undo a scaling decision.
   */
  readonly keepSize?: (group: string) => boolean;
}

/** One field of a declared resource whose observed value is not the declared one. */
export interface DriftDifference {
  readonly pointer: string;
  readonly desired: unknown;
  readonly observed: unknown;
}

/** A declared resource that is missing or differs from its declaration. */
export interface DriftItem {
  readonly ref: ResourceRef;
  readonly kind: ResourceKind;
  readonly name: string;
  readonly provider: string;
  readonly missing: boolean;
  /** Empty when missing. */
  readonly differences: readonly DriftDifference[];
}

/** How a spec is compared: a value as a whole, a map key by key, or an object field by field. */
type Shape = 'value' | 'map' | { readonly [field: string]: Shape };

/** The spec fields a stack declares, per kind; fields a provider adds beyond these are ignored. */
const SPEC_SHAPES: Readonly<Partial<Record<ResourceKind, Shape>>> = {
  InstanceGroup: {
    template: { command: 'value', args: 'value', env: 'map', port: 'value' },
    desired: 'value',
    min: 'value',
    max: 'value',
    instanceType: 'value',
    healthCheck: {
      path: 'value',
      intervalMs: 'value',
      timeoutMs: 'value',
      unhealthyThreshold: 'value',
      healthyThreshold: 'value',
    },
  },
  LoadBalancer: { listen: 'value', targetGroup: 'value', algorithm: 'value' },
  SecurityRule: { loadBalancer: 'value', allow: 'value', port: 'value' },
};

/** Creation order; deletion runs in reverse. */
const KIND_RANK: Readonly<Partial<Record<ResourceKind, number>>> = {
  InstanceGroup: 0,
  LoadBalancer: 1,
  SecurityRule: 2,
};

/**
 * Plans the changes that make `observed` match `desired`: `create` for a declared resource that
 * does not exist, `update` (with its field diff) for one that differs, and with `prune`, `delete`
 * for a resource tagged `homeostat.io/stack: <stack>` that is no longer declared. Only declared
 * spec fields, tags and the provider are compared: status never causes an update, and Instance
 * resources are ignored (group sizes are the reconciler's business; a changed `desired` count is
 * an update of the group). Every declared resource gets the stack tag. Creates and updates come
 * first, by kind (InstanceGroup, LoadBalancer, SecurityRule) then name; deletes follow in reverse
 * kind order, so traffic moves to new resources before old ones go.
 */
export function planStack(
  desired: readonly DesiredResource[],
  observed: readonly Resource[],
  options: PlanOptions,
): Plan {
  const index = indexObserved(observed);
  const matched = new Set<Resource>();
  const changes: PlanChange[] = [];
  let unchanged = 0;
  for (const declared of sortByKind(desired.filter(isDeclarable), 1)) {
    const resource = withStackTag(declared, options.stack);
    const ref = resourceRef(resource.kind, resource.name);
    const current = findObserved(index, resource);
    if (!current) {
      changes.push(Object.freeze({ op: 'create', ref, resource }));
      continue;
    }
    matched.add(current);
    const sized = keptSize(resource, current, options);
    const diff = diffResource(sized, current);
    if (diff.length === 0) unchanged += 1;
    else {
      const replace = current.provider !== resource.provider;
      changes.push(Object.freeze({ op: 'update', ref, resource: sized, observed: current, diff, replace }));
    }
  }
  if (options.prune) {
    const orphans = observed.filter((o) => isDeclarable(o) && !matched.has(o) && o.tags[STACK_TAG] === options.stack);
    for (const o of sortByKind(orphans, -1)) {
      changes.push(Object.freeze({ op: 'delete', ref: resourceRef(o.kind, o.name), resource: o }));
    }
  }
  return Object.freeze({ changes: Object.freeze(changes), unchanged });
}

/**
 * The declared resources that are missing or whose observed provider, declared spec fields or
 * tags differ from the declaration, in kind then name order. The engine emits
 * `infra.resource.drifted` for each and reverts, accepts or alerts as the stack says.
 */
/** The declared group with the observed size when automation owns the group's size. */
function keptSize(resource: DesiredResource, current: Resource, options: PlanOptions): DesiredResource {
  if (resource.kind !== 'InstanceGroup' || !options.keepSize?.(resource.name)) return resource;
  const observed = (current.spec as { desired?: unknown }).desired;
  return typeof observed === 'number' ? { ...resource, spec: { ...resource.spec, desired: observed } } : resource;
}

export function driftOf(desired: readonly DesiredResource[], observed: readonly Resource[]): DriftItem[] {
  const index = indexObserved(observed);
  const items: DriftItem[] = [];
  for (const d of sortByKind(desired.filter(isDeclarable), 1)) {
    const base = { ref: resourceRef(d.kind, d.name), kind: d.kind, name: d.name, provider: d.provider };
    const current = findObserved(index, d);
    if (!current) {
      items.push(Object.freeze({ ...base, missing: true, differences: Object.freeze([]) }));
      continue;
    }
    const differences = diffResource(d, current).map((f) =>
      Object.freeze({ pointer: f.pointer, desired: f.after, observed: f.before }),
    );
    if (differences.length > 0) items.push(Object.freeze({ ...base, missing: false, differences }));
  }
  return items;
}

/**
 * The fields where `observed` differs from `desired`: provider, then the spec fields the stack
 * declares (in declaration order), then tags by name. Observed tags under `homeostat.io/` that
 * the declaration lacks are the provider's own and do not count.
 */
export function diffResource(desired: DesiredResource, observed: Resource): FieldDiff[] {
  const out: FieldDiff[] = [];
  if (desired.provider !== observed.provider) {
    out.push({ pointer: '/provider', before: observed.provider, after: desired.provider });
  }
  const shape = SPEC_SHAPES[desired.kind];
  if (shape) diffShape(shape, observed.spec, desired.spec, '/spec', out);
  const keys = new Set([...Object.keys(observed.tags), ...Object.keys(desired.tags)]);
  for (const key of [...keys].sort()) {
    const declared = Object.hasOwn(desired.tags, key);
    if (!declared && key.startsWith(RESERVED_TAG_PREFIX)) continue;
    const before = Object.hasOwn(observed.tags, key) ? observed.tags[key] : undefined;
    const after = declared ? desired.tags[key] : undefined;
    if (before !== after) out.push({ pointer: `/tags/${pointerSegment(key)}`, before, after });
  }
  return out.map((f) => Object.freeze(f));
}

function diffShape(shape: Shape, before: unknown, after: unknown, at: string, out: FieldDiff[]): void {
  if (shape === 'value') {
    if (!sameJson(before, after)) out.push({ pointer: at, before, after });
    return;
  }
  const b = isRecord(before) ? before : {};
  const a = isRecord(after) ? after : {};
  if (shape === 'map') {
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
    for (const key of keys) diffShape('value', b[key], a[key], `${at}/${pointerSegment(key)}`, out);
    return;
  }
  for (const [field, sub] of Object.entries(shape)) diffShape(sub, b[field], a[field], `${at}/${field}`, out);
}

/** Deep equality of JSON values; a missing key equals an undefined one. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => sameJson(a[k], b[k]));
}

function isDeclarable(r: { readonly kind: ResourceKind }): boolean {
  return KIND_RANK[r.kind] !== undefined;
}

function sortByKind<T extends DesiredResource>(list: readonly T[], direction: 1 | -1): T[] {
  const rank = (r: T): number => KIND_RANK[r.kind] ?? 0;
  return [...list].sort(
    (x, y) => direction * (rank(x) - rank(y)) || compareText(x.name, y.name) || compareText(x.provider, y.provider),
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function indexObserved(observed: readonly Resource[]): Map<string, Resource[]> {
  const index = new Map<string, Resource[]>();
  for (const o of observed) {
    if (!isDeclarable(o)) continue;
    const key = resourceRef(o.kind, o.name);
    index.set(key, [...(index.get(key) ?? []), o]);
  }
  return index;
}

/** The observed resource of the same kind and name, preferring the declared provider. */
function findObserved(index: Map<string, Resource[]>, d: DesiredResource): Resource | undefined {
  const list = index.get(resourceRef(d.kind, d.name));
  return list?.find((o) => o.provider === d.provider) ?? list?.[0];
}

function withStackTag(d: DesiredResource, stack: string): DesiredResource {
  if (d.tags[STACK_TAG] === stack) return d;
  return Object.freeze({ ...d, tags: Object.freeze({ ...d.tags, [STACK_TAG]: stack }) });
}

/**
 * Terraform-like lines: `+ instancegroup/web`, `~ loadbalancer/web-lb: /spec/algorithm
 * "round-robin" → "least-connections"` (one line per field; `-/+` when replaced),
 * `- securityrule/old`, then `N to create, N to change, N to delete`.
 */
export function formatPlan(plan: Plan): string[] {
  const lines: string[] = [];
  const counts = { create: 0, update: 0, delete: 0 };
  for (const c of plan.changes) {
    counts[c.op] += 1;
    if (c.op === 'create') lines.push(`+ ${c.ref}`);
    else if (c.op === 'delete') lines.push(`- ${c.ref}`);
    else {
      const mark = c.replace ? '-/+' : '~';
      for (const d of c.diff) lines.push(`${mark} ${c.ref}: ${d.pointer} ${show(d.before)} → ${show(d.after)}`);
    }
  }
  lines.push(`${counts.create} to create, ${counts.update} to change, ${counts.delete} to delete`);
  return lines;
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}
