/**
 * @module Parses and validates `kind: CompliancePolicy` manifests into a frozen
 * CompliancePolicySpec (pure). Every problem is reported at once with its JSON pointer and the
 * fix; CEL errors point at `/spec/violation` with the line and column.
 */
import { compileCel, type CelProgram } from '../cel.js';
import { invalid, pointerSegment, type Problem } from '../errors.js';
import { ResourceKind } from '../infra/types.js';
import { closest, freezeCopy, isRecord, type ManifestReader, newReader } from '../rules/manifest-reader.js';
import { RULE_API_VERSION } from '../rules/types.js';
import { parseSafety } from '../safety/parse.js';
import { COMPLIANCE_KIND, Remedy, type CompliancePolicySpec, type ResourceSelector } from './types.js';

/** Policy names: lower-case letters, digits, '.' and '-', 1 to 200 characters. */
export const POLICY_NAME = /^[a-z0-9]([a-z0-9.-]{0,198}[a-z0-9])?$/;
/** Longest description, in characters. */
export const MAX_DESCRIPTION = 1024;
/** Most names and tags in a resource selector. */
export const MAX_SELECTORS = 100;
/** Default and bounds of `spec.every`. */
export const EVERY_DEFAULT_MS = 5 * 60_000;
export const EVERY_MIN_MS = 1_000;
export const EVERY_MAX_MS = 86_400_000;
/** The variables a `violation` expression can use (docs/COMPLIANCE.md). */
export const COMPLIANCE_VARIABLES = ['resource', 'now'] as const;

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const METADATA_FIELDS = ['name', 'description'];
const SPEC_FIELDS = [
  'description',
  'resources',
  'violation',
  'remedy',
  'patch',
  'approval',
  'every',
  'notify',
  'safety',
];
const SELECTOR_FIELDS = ['kind', 'names', 'tags'];
const KINDS = Object.values(ResourceKind) as ResourceKind[];
const REMEDIES = Object.values(Remedy) as Remedy[];
/** Names people reach for instead of `violation`; each gets a pointed hint. */
const CONDITION_ALIASES = ['require', 'condition', 'expression', 'rule', 'check', 'when', 'match'];
/** The spec fields a `patch` remedy may change, per kind. */
const PATCHABLE: Readonly<Partial<Record<ResourceKind, readonly string[]>>> = {
  InstanceGroup: ['template', 'desired', 'min', 'max', 'instanceType', 'healthCheck'],
  LoadBalancer: ['listen', 'targetGroup', 'algorithm'],
  SecurityRule: ['loadBalancer', 'allow', 'port'],
};
/** Kinds each remedy can act on. */
const REMEDY_KINDS: Readonly<Record<Remedy, readonly ResourceKind[]>> = {
  revert: ['InstanceGroup', 'LoadBalancer', 'SecurityRule'],
  patch: ['InstanceGroup', 'LoadBalancer', 'SecurityRule'],
  stop: ['Instance', 'InstanceGroup'],
  alert: KINDS,
};
const NAME_GLOB = /^[a-z0-9*]([a-z0-9.*-]{0,251}[a-z0-9*])?$/;

/**
 * Validates a `kind: CompliancePolicy` manifest (parsed JSON or YAML) and resolves it: defaults
 * applied, `every` in ms, the violation compiled, everything frozen. Throws E_INVALID
 * `invalid CompliancePolicy <name>` listing every problem.
 */
export function parseCompliancePolicy(doc: unknown): CompliancePolicySpec {
  const r = newReader();
  const root = r.object(doc, '', 'a manifest object with apiVersion, kind, metadata and spec');
  if (!root) throw invalid(`invalid ${COMPLIANCE_KIND} manifest`, r.problems);
  r.fields(root, '', TOP_FIELDS);
  readHeader(r, root);
  const meta = readMetadata(r, root.metadata);
  const what =
    meta.name === undefined ? `invalid ${COMPLIANCE_KIND} manifest` : `invalid ${COMPLIANCE_KIND} ${meta.name}`;
  const spec = r.object(root.spec, '/spec', 'an object with resources, violation and remedy');
  if (!spec || meta.name === undefined) throw invalid(what, r.problems);
  readSpecFields(r, spec);
  const description = r.text(spec.description, '/spec/description', MAX_DESCRIPTION) ?? meta.description;
  const resources = readSelector(r, spec.resources);
  const violation = readViolation(r, spec.violation);
  const remedy = readRemedy(r, spec.remedy, resources.kinds);
  const patch = readPatch(r, spec.patch, remedy, resources.kinds);
  const approval = r.boolean(spec.approval, '/spec/approval', false);
  if (approval && remedy === 'alert')
    r.add('/spec/approval', 'has no effect with remedy: alert (nothing to approve); remove it');
  const everyMs = r.duration(spec.every, '/spec/every', EVERY_MIN_MS, EVERY_MAX_MS, EVERY_DEFAULT_MS);
  const notify = readNotify(r, spec.notify);
  const safetyProblems: Problem[] = [];
  const safety = parseSafety(spec.safety, '/spec/safety', safetyProblems);
  r.problems.push(...safetyProblems);
  if (r.problems.length > 0 || violation === undefined) throw invalid(what, r.problems);
  return Object.freeze({
    kind: COMPLIANCE_KIND,
    name: meta.name,
    ...(description === undefined ? {} : { description }),
    safety,
    resources,
    violation,
    remedy,
    ...(patch === undefined ? {} : { patch }),
    approval,
    everyMs,
    ...(notify === undefined ? {} : { notify }),
  });
}

function show(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'null' : JSON.stringify(v);
}

function readHeader(r: ManifestReader, root: Record<string, unknown>): void {
  if (root.apiVersion !== RULE_API_VERSION) {
    const got = root.apiVersion === undefined ? 'required' : `${show(root.apiVersion)} is not supported`;
    r.add('/apiVersion', `${got}; use apiVersion: ${RULE_API_VERSION}`);
  }
  if (root.kind !== COMPLIANCE_KIND) {
    const got = root.kind === undefined ? 'required' : `${show(root.kind)} is not this kind`;
    r.add('/kind', `${got}; use kind: ${COMPLIANCE_KIND}`);
  }
}

function readMetadata(r: ManifestReader, value: unknown): { name?: string; description?: string } {
  const meta = r.object(value, '/metadata', 'an object with name (and optional description)');
  if (!meta) return {};
  r.fields(meta, '/metadata', METADATA_FIELDS);
  const description = r.text(meta.description, '/metadata/description', MAX_DESCRIPTION);
  if (typeof meta.name === 'string' && POLICY_NAME.test(meta.name)) return { name: meta.name, description };
  const why = meta.name === undefined ? 'required' : `${show(meta.name)} is not a valid policy name`;
  r.add(
    '/metadata/name',
    `${why}; use 1 to 200 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit (e.g. no-open-ssh)`,
  );
  return { description };
}

/** Unknown spec fields, with a pointed hint for the names of a condition other than `violation`. */
function readSpecFields(r: ManifestReader, spec: Record<string, unknown>): void {
  const aliases = Object.keys(spec).filter((k) => CONDITION_ALIASES.includes(k));
  for (const key of aliases) {
    r.add(
      `/spec/${key}`,
      `unknown field '${key}'; write the condition under 'violation': a CEL expression that is true for a violating resource (negate a requirement with !(...))`,
    );
  }
  const rest = Object.fromEntries(Object.entries(spec).filter(([k]) => !aliases.includes(k)));
  r.fields(rest, '/spec', SPEC_FIELDS);
}

function readSelector(r: ManifestReader, value: unknown): ResourceSelector {
  const at = '/spec/resources';
  const sel = r.object(value, at, 'an object with kind (and optional names, tags), e.g. { kind: SecurityRule }');
  if (!sel) return { kinds: [], names: [], tags: {} };
  r.fields(sel, at, SELECTOR_FIELDS);
  const kinds = readKinds(r, sel.kind, `${at}/kind`);
  const names = readNames(r, sel.names, `${at}/names`);
  const tags = readTags(r, sel.tags, `${at}/tags`);
  return Object.freeze({ kinds: Object.freeze(kinds), names: Object.freeze(names), tags: Object.freeze(tags) });
}

function readKinds(r: ManifestReader, value: unknown, at: string): ResourceKind[] {
  if (value === undefined) {
    r.add(at, `required: a resource kind or a list of them (${KINDS.join(', ')})`);
    return [];
  }
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) r.add(at, `must name at least one kind (${KINDS.join(', ')})`);
  const kinds: ResourceKind[] = [];
  list.forEach((k, i) => {
    const where = Array.isArray(value) ? `${at}/${i}` : at;
    const match = typeof k === 'string' ? KINDS.find((x) => x.toLowerCase() === k.toLowerCase()) : undefined;
    if (match === undefined) {
      const hint = typeof k === 'string' ? closest(k, KINDS) : undefined;
      r.add(
        where,
        `${show(k)} is not a resource kind; ${hint ? `did you mean '${hint}'? ` : ''}use ${KINDS.join(', ')}`,
      );
    } else if (!kinds.includes(match)) kinds.push(match);
  });
  return kinds;
}

function readNames(r: ManifestReader, value: unknown, at: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_SELECTORS) {
    r.add(at, `must be a list of at most ${MAX_SELECTORS} resource names or globs (web-*), not ${show(value)}`);
    return [];
  }
  const names: string[] = [];
  value.forEach((n, i) => {
    if (typeof n === 'string' && NAME_GLOB.test(n) && !n.includes('**')) names.push(n);
    else
      r.add(
        `${at}/${i}`,
        `${show(n)} is not a resource name or glob; use lower-case letters, digits, '.', '-' and '*'`,
      );
  });
  return names;
}

function readTags(r: ManifestReader, value: unknown, at: string): Record<string, string> {
  const tags = r.optionalObject(value, at, 'an object of tag names to values, e.g. { env: prod }');
  const out: Record<string, string> = {};
  const entries = Object.entries(tags);
  if (entries.length > MAX_SELECTORS) r.add(at, `has ${entries.length} tags; the limit is ${MAX_SELECTORS}`);
  for (const [k, v] of entries) {
    if (typeof v === 'string') out[k] = v;
    else r.add(`${at}/${pointerSegment(k)}`, `must be a string (tag values are strings), not ${show(v)}`);
  }
  return out;
}

function readViolation(r: ManifestReader, value: unknown): CelProgram | undefined {
  const at = '/spec/violation';
  if (typeof value !== 'string') {
    r.add(
      at,
      value === undefined
        ? 'required: a CEL expression that is true for a violating resource, e.g. "!(\'owner\' in resource.tags)"'
        : `must be a CEL expression (a string), not ${show(value)}`,
    );
    return undefined;
  }
  try {
    return compileCel(value, at, { variables: COMPLIANCE_VARIABLES });
  } catch (err) {
    const problems = (err as { problems?: readonly Problem[] }).problems ?? [];
    for (const p of problems) r.add(p.pointer, p.message);
    if (problems.length === 0) r.add(at, (err as Error).message);
    return undefined;
  }
}

function readRemedy(r: ManifestReader, value: unknown, kinds: readonly ResourceKind[]): Remedy {
  const at = '/spec/remedy';
  if (value === undefined) {
    r.add(at, `required: one of ${REMEDIES.join(', ')} (alert only reports)`);
    return 'alert';
  }
  if (!REMEDIES.includes(value as Remedy)) {
    const hint = typeof value === 'string' ? closest(value, REMEDIES) : undefined;
    r.add(
      at,
      `${show(value)} is not a remedy; ${hint ? `did you mean '${hint}'? ` : ''}use one of ${REMEDIES.join(', ')}`,
    );
    return 'alert';
  }
  const remedy = value as Remedy;
  const unfit = kinds.filter((k) => !REMEDY_KINDS[remedy].includes(k));
  if (unfit.length > 0) {
    r.add(
      at,
      `${remedy} cannot act on ${unfit.join(', ')}; it applies to ${REMEDY_KINDS[remedy].join(', ')} (use alert, or narrow spec.resources.kind)`,
    );
  }
  return remedy;
}

function readPatch(
  r: ManifestReader,
  value: unknown,
  remedy: Remedy,
  kinds: readonly ResourceKind[],
): Readonly<Record<string, unknown>> | undefined {
  const at = '/spec/patch';
  if (remedy !== 'patch') {
    if (value !== undefined) r.add(at, `is only used with remedy: patch (the remedy is ${remedy}); remove it`);
    return undefined;
  }
  if (!isRecord(value) || Object.keys(value).length === 0) {
    r.add(
      at,
      `required with remedy: patch: the spec fields to set, e.g. { allow: ["10.0.0.0/8"] }; got ${show(value)}`,
    );
    return undefined;
  }
  for (const key of Object.keys(value)) {
    for (const kind of kinds) {
      const allowed = PATCHABLE[kind] ?? [];
      if (allowed.includes(key)) continue;
      const hint = closest(key, allowed);
      r.add(
        `${at}/${pointerSegment(key)}`,
        `${kind} has no spec field '${key}'; ${hint ? `did you mean '${hint}'? ` : ''}fields: ${allowed.join(', ')}`,
      );
    }
  }
  return freezeCopy(value);
}

function readNotify(r: ManifestReader, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let ok = false;
  try {
    ok = typeof value === 'string' && ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok)
    r.add('/spec/notify', `must be an http(s) webhook URL, e.g. https://hooks.example/compliance; got ${show(value)}`);
  return ok ? (value as string) : undefined;
}
