/** @module Manifest readers shared by the FinOps policy kinds (Budget, IdlePolicy, Schedule): header, metadata, scope, safety. Pure. */
import type { CostScope } from '../../core/cost/types.js';
import { invalid, pointerSegment } from '../../core/errors.js';
import { isRecord, type ManifestReader, newReader } from '../../core/rules/manifest-reader.js';
import { RULE_NAME } from '../../core/rules/manifest.js';
import { parseSafety } from '../../core/safety/parse.js';
import type { SafetySpec } from '../../core/safety/types.js';

export const POLICY_API_VERSION = 'homeostat/v1';

export interface PolicyHeader {
  readonly r: ManifestReader;
  readonly name: string;
  readonly description?: string;
  readonly spec: Record<string, unknown>;
  readonly safety: SafetySpec;
}

/**
 * Reads apiVersion, kind, metadata and spec (an object), and `spec.safety`; `specFields` are the
 * fields the kind allows in spec (safety and description are added). Problems go to `r`; throws
 * only when the rest cannot be read (no object, wrong kind, no name).
 */
export function readPolicyHeader(manifest: unknown, kind: string, specFields: readonly string[]): PolicyHeader {
  const r = newReader();
  const root = r.object(manifest, '', 'a manifest object with apiVersion, kind, metadata and spec');
  if (!root) throw invalid(`invalid ${kind}`, r.problems);
  r.fields(root, '', ['apiVersion', 'kind', 'metadata', 'spec']);
  if (root.apiVersion !== POLICY_API_VERSION) {
    const got = root.apiVersion === undefined ? 'required' : `${JSON.stringify(root.apiVersion)} is not supported`;
    r.add('/apiVersion', `${got}; use apiVersion: ${POLICY_API_VERSION}`);
  }
  if (root.kind !== kind) r.add('/kind', `must be ${kind}, not ${JSON.stringify(root.kind)}`);
  const meta = r.object(root.metadata, '/metadata', 'an object with name (and optional description)') ?? {};
  r.fields(meta, '/metadata', ['name', 'description']);
  const description = r.text(meta.description, '/metadata/description', 1024);
  const name = typeof meta.name === 'string' && RULE_NAME.test(meta.name) ? meta.name : undefined;
  if (name === undefined && root.metadata !== undefined) {
    const why = meta.name === undefined ? 'required' : `${JSON.stringify(meta.name)} is not a valid name`;
    r.add(
      '/metadata/name',
      `${why}; use lower-case letters, digits, '.' or '-', starting and ending with a letter or digit`,
    );
  }
  const spec = r.object(root.spec, '/spec', `the ${kind}'s settings`);
  if (spec) r.fields(spec, '/spec', [...specFields, 'safety', 'description']);
  const safety = parseSafety(spec?.safety, '/spec/safety', r.problems);
  const what = name === undefined ? `invalid ${kind}` : `invalid ${kind} ${name}`;
  if (name === undefined || !spec || root.kind !== kind) throw invalid(what, r.problems);
  const text = r.text(spec.description, '/spec/description', 1024) ?? description;
  return { r, name, ...(text === undefined ? {} : { description: text }), spec, safety };
}

/** Throws E_INVALID with every problem collected, if any. */
export function finish(h: PolicyHeader, kind: string): void {
  if (h.r.problems.length > 0) throw invalid(`invalid ${kind} ${h.name}`, h.r.problems);
}

const TAG = /^[A-Za-z0-9_./:-]{1,128}$/;

/**
 * A scope: `{ stack?, group?, tags? }`, or a string `stack/<name>`, `group/<name>` or
 * `instancegroup/<name>`. `required` demands at least one field.
 */
export function readScope(r: ManifestReader, raw: unknown, at: string, required: boolean): CostScope {
  if (typeof raw === 'string') {
    const m = /^(stack|group|instancegroup)\/([a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/i.exec(raw);
    if (m) return m[1]!.toLowerCase() === 'stack' ? { stack: m[2]! } : { group: m[2]! };
    r.add(at, `${JSON.stringify(raw)} is not a target; use 'group/<name>', 'stack/<name>' or { stack, group, tags }`);
    return {};
  }
  if (raw === undefined && !required) return {};
  const before = r.problems.length;
  const obj = r.object(raw, at, 'an object with any of stack, group, tags (e.g. { stack: web })');
  if (!obj) return {};
  r.fields(obj, at, ['stack', 'group', 'tags']);
  const scope: { stack?: string; group?: string; tags?: Record<string, string> } = {};
  for (const key of ['stack', 'group'] as const) {
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v === 'string' && RULE_NAME.test(v)) scope[key] = v;
    else r.add(`${at}/${key}`, `must be a ${key} name, not ${JSON.stringify(v)}`);
  }
  if (obj.tags !== undefined) {
    if (!isRecord(obj.tags)) r.add(`${at}/tags`, 'must be an object of tag key: value, e.g. { team: web }');
    else {
      scope.tags = {};
      for (const [k, v] of Object.entries(obj.tags)) {
        if (TAG.test(k) && typeof v === 'string') scope.tags[k] = v;
        else
          r.add(
            `${at}/tags/${pointerSegment(k)}`,
            'must be a string value under a tag key of letters, digits, _ . / : -',
          );
      }
    }
  }
  if (required && Object.keys(scope).length === 0 && r.problems.length === before)
    r.add(at, 'must name what it applies to: a stack, a group or tags');
  return Object.freeze(scope);
}

/** A percentage: `'80%'` or the number 80; above 0 and at most 1000. */
export function readPercent(r: ManifestReader, raw: unknown, at: string): number {
  const n =
    typeof raw === 'number'
      ? raw
      : typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(raw)
        ? parseFloat(raw)
        : NaN;
  if (Number.isFinite(n) && n > 0 && n <= 1000) return n;
  r.add(at, `must be a percentage of the amount such as '80%' or 100, not ${JSON.stringify(raw)}`);
  return 100;
}

/** Describes a scope in a few words: `stack web`, `group api, tag team=data`, `everything`. */
export function describeScope(scope: CostScope): string {
  const parts: string[] = [];
  if (scope.stack !== undefined) parts.push(`stack ${scope.stack}`);
  if (scope.group !== undefined) parts.push(`group ${scope.group}`);
  for (const [k, v] of Object.entries(scope.tags ?? {})) parts.push(`tag ${k}=${v}`);
  return parts.length > 0 ? parts.join(', ') : 'everything';
}
