/**
 * @module Parses and validates `kind: ScalingPolicy` manifests into a resolved, frozen
 * ScalingPolicySpec (defaults applied, durations in ms), reporting every problem with its JSON
 * pointer and the fix. Pure.
 */
import { toJsonPath } from '../conditions/parse.js';
import { parseJsonPath } from '../delivery/json-path.js';
import { invalid } from '../errors.js';
import { MAX_GROUP_SIZE } from '../infra/stack-resources.js';
import { type ManifestReader, freezeCopy, newReader } from '../rules/manifest-reader.js';
import { parseSafety } from '../safety/parse.js';
import { DEFAULT_ACTIVITY_FIELDS } from './metric.js';
import { readDirection, readSteps } from './parse-steps.js';
import { type MetricSpec, SCALING_POLICY_KIND, type ScaleToZeroSpec, type ScalingPolicySpec } from './types.js';

export const SCALING_API_VERSION = 'homeostat/v1';
/** Policy names: 1 to 63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit. */
export const POLICY_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
const GROUP_TARGET = /^(?:group|instancegroup)\/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/;

/** Defaults of the optional fields (durations in ms), as documented in docs/SCALING.md. */
export const SCALING_DEFAULTS = Object.freeze({
  metricType: 'infra.metrics',
  instancesField: 'data.instances',
  tolerance: 0.1,
  scaleOutCooldownMs: 5_000,
  scaleOutStabilizationMs: 0,
  scaleInCooldownMs: 15_000,
  scaleInStabilizationMs: 300_000,
  scaleToZeroAfterMs: 300_000,
});

/** Longest cooldown, stabilization window or idle time: 1 day. */
export const MAX_SCALING_WINDOW_MS = 86_400_000;
const MAX_DESCRIPTION = 1024;

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const SPEC_FIELDS = [
  'target',
  'min',
  'max',
  'metric',
  'steps',
  'tolerance',
  'scaleOut',
  'scaleIn',
  'scaleToZero',
  'safety',
];
const METRIC_FIELDS = ['type', 'source', 'field', 'perInstance', 'instancesField', 'target'];

type Obj = Record<string, unknown>;
type Path = readonly (string | number)[];

/**
 * Validates a `kind: ScalingPolicy` manifest (parsed YAML or JSON) and resolves it. Every problem
 * is collected with its JSON pointer; throws E_INVALID `invalid ScalingPolicy <name>`.
 */
export function parseScalingPolicy(doc: unknown): ScalingPolicySpec {
  const r = newReader();
  const root = r.object(doc, '', 'a manifest object with apiVersion, kind, metadata and spec');
  if (!root) throw invalid('invalid ScalingPolicy manifest', r.problems);
  r.fields(root, '', TOP_FIELDS);
  readHeader(r, root);
  const meta = readMetadata(r, root.metadata);
  const what = meta.name === undefined ? 'invalid ScalingPolicy manifest' : `invalid ScalingPolicy ${meta.name}`;
  const spec = r.object(root.spec, '/spec', 'an object with target, metric (and min, max, scaleOut, scaleIn, ...)');
  if (!spec) throw invalid(what, r.problems);
  r.fields(spec, '/spec', SPEC_FIELDS);
  const group = readTarget(r, spec.target);
  const bounds = readBounds(r, spec);
  const metric = readMetric(r, spec.metric);
  const steps = spec.steps === undefined ? undefined : readSteps(r, spec.steps, '/spec/steps');
  checkMode(r, spec, metric);
  const tolerance = readTolerance(r, spec);
  const scaleOut = readDirection(r, spec.scaleOut, '/spec/scaleOut', {
    cooldownMs: SCALING_DEFAULTS.scaleOutCooldownMs,
    stabilizationMs: SCALING_DEFAULTS.scaleOutStabilizationMs,
  });
  const scaleIn = readDirection(r, spec.scaleIn, '/spec/scaleIn', {
    cooldownMs: SCALING_DEFAULTS.scaleInCooldownMs,
    stabilizationMs: SCALING_DEFAULTS.scaleInStabilizationMs,
  });
  const scaleToZero = readScaleToZero(r, spec.scaleToZero);
  const safety = parseSafety(spec.safety, '/spec/safety', r.problems);
  if (r.problems.length > 0 || meta.name === undefined || group === undefined || metric === undefined) {
    throw invalid(what, r.problems);
  }
  return freezeCopy({
    kind: SCALING_POLICY_KIND,
    name: meta.name,
    ...(meta.description === undefined ? {} : { description: meta.description }),
    safety,
    target: `instancegroup/${group}`,
    group,
    ...bounds,
    metric,
    ...(steps === undefined ? {} : { steps }),
    tolerance,
    scaleOut,
    scaleIn,
    ...(scaleToZero === undefined ? {} : { scaleToZero }),
  }) as ScalingPolicySpec;
}

function readHeader(r: ManifestReader, root: Obj): void {
  if (root.apiVersion !== SCALING_API_VERSION) {
    const got = root.apiVersion === undefined ? 'required' : `${JSON.stringify(root.apiVersion)} is not supported`;
    r.add('/apiVersion', `${got}; use apiVersion: ${SCALING_API_VERSION}`);
  }
  if (root.kind !== SCALING_POLICY_KIND) {
    const got = root.kind === undefined ? 'required' : `${JSON.stringify(root.kind)} is not a ScalingPolicy`;
    r.add('/kind', `${got}; use kind: ${SCALING_POLICY_KIND}`);
  }
}

function readMetadata(r: ManifestReader, value: unknown): { name?: string; description?: string } {
  const meta = r.object(value, '/metadata', 'an object with name (and optional description)');
  if (!meta) return {};
  r.fields(meta, '/metadata', ['name', 'description']);
  const description = r.text(meta.description, '/metadata/description', MAX_DESCRIPTION);
  const out = description === undefined ? {} : { description };
  if (typeof meta.name === 'string' && POLICY_NAME.test(meta.name)) return { ...out, name: meta.name };
  const why = meta.name === undefined ? 'required' : `${JSON.stringify(meta.name)} is not a valid policy name`;
  r.add('/metadata/name', `${why}; use 1 to 63 lower-case letters, digits, '.' or '-' (e.g. web)`);
  return out;
}

function readTarget(r: ManifestReader, value: unknown): string | undefined {
  const m = typeof value === 'string' ? GROUP_TARGET.exec(value) : null;
  if (m) return m[1];
  const why = value === undefined ? 'required' : `${JSON.stringify(value)} does not name an instance group`;
  r.add('/spec/target', `${why}; write group/<name> or instancegroup/<name>, e.g. group/web`);
  return undefined;
}

function readBounds(r: ManifestReader, spec: Obj): { min?: number; max?: number } {
  const read = (key: 'min' | 'max'): number | undefined => {
    const v = spec[key];
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_GROUP_SIZE) return v;
    const zero = v === 0 && key === 'min' ? "; to allow zero instances use scaleToZero: { after: '10m' }" : '';
    r.add(`/spec/${key}`, `must be a whole number from 1 to ${MAX_GROUP_SIZE}, not ${JSON.stringify(v)}${zero}`);
    return undefined;
  };
  const min = read('min');
  const max = read('max');
  if (min !== undefined && max !== undefined && min > max) r.add('/spec/min', `min (${min}) exceeds max (${max})`);
  return { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
}

/** A field path such as `data.rps` (or `$.data.rps`), as written and as segments. */
export function readField(r: ManifestReader, value: unknown, at: string): { field: string; path: Path } | undefined {
  if (typeof value !== 'string' || value === '') {
    r.add(at, `must be a field path into the event such as 'data.rps', not ${JSON.stringify(value)}`);
    return undefined;
  }
  const path = parseJsonPath(toJsonPath(value));
  if (typeof path === 'string') {
    r.add(at, `${JSON.stringify(value)} ${path}`);
    return undefined;
  }
  return { field: value.startsWith('$.') ? value.slice(2) : value, path };
}

function readMetric(r: ManifestReader, value: unknown): MetricSpec | undefined {
  const at = '/spec/metric';
  const o = r.object(value, at, 'an object { type: infra.metrics, field: data.rpsPerInstance, target: 100 }');
  if (!o) return undefined;
  r.fields(o, at, METRIC_FIELDS);
  const type = o.type ?? SCALING_DEFAULTS.metricType;
  if (typeof type !== 'string' || type === '' || type.length > 256) {
    r.add(`${at}/type`, `must be an event type such as 'infra.metrics' (the default), not ${JSON.stringify(type)}`);
  }
  const source = r.text(o.source, `${at}/source`, 256);
  const field = readField(r, o.field, `${at}/field`);
  const count = readField(r, o.instancesField ?? SCALING_DEFAULTS.instancesField, `${at}/instancesField`);
  const perInstance = r.boolean(o.perInstance, `${at}/perInstance`, false);
  const target = o.target;
  if (target !== undefined && (typeof target !== 'number' || !Number.isFinite(target) || target <= 0)) {
    r.add(`${at}/target`, `must be a number above 0 (the value to keep the metric at), not ${JSON.stringify(target)}`);
  }
  if (field === undefined || count === undefined) return undefined;
  return {
    type: String(type),
    ...(source === undefined ? {} : { source }),
    field: field.field,
    path: field.path,
    perInstance,
    instancesField: count.field,
    instancesPath: count.path,
    ...(typeof target === 'number' ? { target } : {}),
  };
}

/** Exactly one of target tracking (`metric.target`) and step scaling (`steps`). */
function checkMode(r: ManifestReader, spec: Obj, metric: MetricSpec | undefined): void {
  const hasTarget = (spec.metric as Obj | undefined)?.target !== undefined;
  if (hasTarget && spec.steps !== undefined) {
    r.add('/spec/steps', 'use either metric.target (target tracking) or steps (step scaling), not both');
  } else if (!hasTarget && spec.steps === undefined && metric !== undefined) {
    r.add('/spec/metric/target', 'required: the value to keep the metric at (or give steps for step scaling)');
  }
}

function readTolerance(r: ManifestReader, spec: Obj): number {
  const t = spec.tolerance;
  if (t === undefined) return SCALING_DEFAULTS.tolerance;
  if (spec.steps !== undefined) r.add('/spec/tolerance', 'applies to target tracking only; remove it');
  if (typeof t === 'number' && t >= 0 && t < 1) return t;
  r.add('/spec/tolerance', `must be a number from 0 to below 1 (default 0.1: ±10 %), not ${JSON.stringify(t)}`);
  return SCALING_DEFAULTS.tolerance;
}

function readScaleToZero(r: ManifestReader, value: unknown): ScaleToZeroSpec | undefined {
  if (value === undefined) return undefined;
  const at = '/spec/scaleToZero';
  const o = r.object(value, at, "an object { after: '10m' } (and optional activity)");
  if (!o) return undefined;
  r.fields(o, at, ['after', 'activity']);
  const afterMs = r.duration(o.after, `${at}/after`, 1_000, MAX_SCALING_WINDOW_MS, SCALING_DEFAULTS.scaleToZeroAfterMs);
  const raw =
    o.activity === undefined ? DEFAULT_ACTIVITY_FIELDS : typeof o.activity === 'string' ? [o.activity] : o.activity;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 16) {
    r.add(
      `${at}/activity`,
      'must be a field path or a list of 1 to 16 (default data.rps, data.requests, data.inFlight)',
    );
    return undefined;
  }
  const activity = raw.map((f: unknown, i) =>
    readField(r, f, `${at}/activity${o.activity === undefined || typeof o.activity === 'string' ? '' : `/${i}`}`),
  );
  if (activity.some((a) => a === undefined)) return undefined;
  return { afterMs, activity: activity as { field: string; path: Path }[] };
}
