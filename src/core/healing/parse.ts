/**
 * @module Parses and validates `kind: HealingPolicy` manifests into a frozen HealingSpec, every
 * problem reported with its JSON pointer and the fix (pure).
 */
import { invalid, type Problem } from '../errors.js';
import { type ManifestReader, freezeCopy, newReader } from '../rules/manifest-reader.js';
import { RULE_API_VERSION } from '../rules/types.js';
import { parseSafety } from '../safety/parse.js';
import {
  FAILURE_KINDS,
  type FailureKind,
  HEALING_KIND,
  type HealingSpec,
  INCIDENT_SEVERITIES,
  type IncidentSeverity,
} from './types.js';

/** Policy names: part of rule names (`healingpolicy.<name>.failure`), so short and plain. */
export const POLICY_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const HEALING_DEFAULTS = Object.freeze({
  verifyTimeoutMs: 30_000,
  crashLoop: Object.freeze({ crashes: 3, withinMs: 60_000 }),
  severity: 'warning' as IncidentSeverity,
});

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const SPEC_FIELDS = ['description', 'target', 'on', 'verify', 'crashLoop', 'notify', 'severity', 'safety'];

/**
 * Validates a HealingPolicy manifest (parsed YAML or JSON) and resolves defaults. Throws E_INVALID
 * `invalid HealingPolicy <name>` listing every problem with its pointer.
 */
export function parseHealingPolicy(doc: unknown): HealingSpec {
  const r = newReader();
  const root = r.object(doc, '', 'a manifest object with apiVersion, kind, metadata and spec');
  if (!root) throw invalid(`invalid ${HEALING_KIND} manifest`, r.problems);
  r.fields(root, '', TOP_FIELDS);
  if (root.apiVersion !== RULE_API_VERSION) r.add('/apiVersion', `must be ${RULE_API_VERSION}`);
  if (root.kind !== HEALING_KIND) r.add('/kind', `must be ${HEALING_KIND}`);
  const meta = r.object(root.metadata, '/metadata', 'an object with name (and optional description)') ?? {};
  r.fields(meta, '/metadata', ['name', 'description']);
  const name = readName(r, meta.name);
  const what = name === undefined ? `invalid ${HEALING_KIND} manifest` : `invalid ${HEALING_KIND} ${name}`;
  const spec = r.object(root.spec, '/spec', 'an object with target (e.g. target: group/web)') ?? {};
  r.fields(spec, '/spec', SPEC_FIELDS);
  const description = r.text(spec.description ?? meta.description, '/spec/description', 1024);
  const group = readTarget(r, spec.target);
  const on = readOn(r, spec.on);
  const verify = r.optionalObject(spec.verify, '/spec/verify', "an object { timeout: '30s' }");
  r.fields(verify, '/spec/verify', ['timeout']);
  const verifyTimeoutMs = r.duration(
    verify.timeout,
    '/spec/verify/timeout',
    1_000,
    3_600_000,
    HEALING_DEFAULTS.verifyTimeoutMs,
  );
  const loop = r.optionalObject(spec.crashLoop, '/spec/crashLoop', "an object { crashes: 3, within: '1m' }");
  r.fields(loop, '/spec/crashLoop', ['crashes', 'within']);
  const crashLoop = {
    crashes: r.integer(loop.crashes, '/spec/crashLoop/crashes', 1, 1_000, HEALING_DEFAULTS.crashLoop.crashes),
    withinMs: r.duration(loop.within, '/spec/crashLoop/within', 1_000, 86_400_000, HEALING_DEFAULTS.crashLoop.withinMs),
  };
  const notify = readNotify(r, spec.notify);
  const severity = readSeverity(r, spec.severity);
  const problems: Problem[] = [...r.problems];
  const safety = parseSafety(spec.safety, '/spec/safety', problems);
  if (problems.length > 0 || name === undefined || group === undefined) throw invalid(what, problems);
  return freezeCopy({
    kind: HEALING_KIND,
    name,
    ...(description === undefined ? {} : { description }),
    safety,
    group,
    on,
    verifyTimeoutMs,
    crashLoop,
    ...(notify === undefined ? {} : { notify }),
    severity,
  });
}

function readName(r: ManifestReader, value: unknown): string | undefined {
  if (typeof value === 'string' && POLICY_NAME.test(value)) return value;
  const why = value === undefined ? 'required' : `${JSON.stringify(value)} is not a valid policy name`;
  r.add('/metadata/name', `${why}; use 1 to 63 lower-case letters, digits or '-' (e.g. web)`);
  return undefined;
}

function readTarget(r: ManifestReader, value: unknown): string | undefined {
  const m = typeof value === 'string' ? /^(?:group|instancegroup)\/(.+)$/i.exec(value) : null;
  if (m && GROUP_NAME.test(m[1]!)) return m[1]!;
  const why = value === undefined ? 'required' : `${JSON.stringify(value)} is not an instance group`;
  r.add('/spec/target', `${why}; name the group healed as group/<name>, e.g. target: group/web`);
  return undefined;
}

function readOn(r: ManifestReader, value: unknown): readonly FailureKind[] {
  if (value === undefined) return FAILURE_KINDS;
  const list = typeof value === 'string' ? [value] : value;
  const allowed = `a list of ${FAILURE_KINDS.join(', ')}`;
  if (!Array.isArray(list) || list.length === 0) {
    r.add('/spec/on', `must be ${allowed} (default: all of them)`);
    return FAILURE_KINDS;
  }
  const kinds: FailureKind[] = [];
  list.forEach((k: unknown, i) => {
    if (FAILURE_KINDS.includes(k as FailureKind)) {
      if (!kinds.includes(k as FailureKind)) kinds.push(k as FailureKind);
    } else r.add(`/spec/on/${i}`, `${JSON.stringify(k)} is not a failure kind; use ${FAILURE_KINDS.join(', ')}`);
  });
  return kinds;
}

function readNotify(r: ManifestReader, value: unknown): { url: string } | undefined {
  if (value === undefined) return undefined;
  const obj = r.object(value, '/spec/notify', 'an object { url: "https://hooks.example/oncall" }');
  if (!obj) return undefined;
  r.fields(obj, '/spec/notify', ['url']);
  if (typeof obj.url === 'string' && isHttpUrl(obj.url)) return { url: obj.url };
  r.add('/spec/notify/url', 'required: an http or https URL that receives incidents as JSON (POST)');
  return undefined;
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function readSeverity(r: ManifestReader, value: unknown): IncidentSeverity {
  if (value === undefined) return HEALING_DEFAULTS.severity;
  if (INCIDENT_SEVERITIES.includes(value as IncidentSeverity)) return value as IncidentSeverity;
  r.add('/spec/severity', `must be one of ${INCIDENT_SEVERITIES.join(', ')} (default warning)`);
  return HEALING_DEFAULTS.severity;
}
