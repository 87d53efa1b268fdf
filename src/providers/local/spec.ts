/** @module The `local` provider's instance types and spec checks: validation, merge patches, hashes, diffs. */
import { createHash } from 'node:crypto';
import { type Problem, pointerSegment } from '../../core/errors.js';
import type { ResourceKind } from '../../core/infra/types.js';
import { parseCidr } from '../../core/pattern/ip.js';
import { MIN_HEALTH_INTERVAL_MS } from './health.js';

/** Nominal hourly prices (USD) so cost reports work on a laptop; nothing limits a process's CPU. */
export const LOCAL_INSTANCE_TYPES: Readonly<Record<string, { readonly pricePerHour: number }>> = Object.freeze({
  'local.nano': { pricePerHour: 0.0052 },
  'local.small': { pricePerHour: 0.0208 },
  'local.medium': { pricePerHour: 0.0416 },
  'local.large': { pricePerHour: 0.0832 },
});

/** Nominal hourly price of one load balancer (USD). */
export const LOCAL_BALANCER_PRICE_PER_HOUR = 0.0225;

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ALGORITHMS = ['round-robin', 'least-connections'];

type Json = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with object keys sorted: equal specs give equal text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 (first 16 hex digits) of what an instance is started from: the template and instance type. */
export function instanceSpecHash(spec: { readonly template: unknown; readonly instanceType: unknown }): string {
  const basis = stableJson({ template: spec.template, instanceType: spec.instanceType });
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

/** RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** JSON pointers (relative to the spec) of every leaf that differs between two specs. */
export function changedPaths(before: unknown, after: unknown, at = ''): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => changedPaths(before[k], after[k], `${at}/${pointerSegment(k)}`));
  }
  return stableJson(before) === stableJson(after) ? [] : [at || '/'];
}

/** Problems with a resource name (pointer `/name`). */
export function checkName(name: unknown): Problem[] {
  if (typeof name === 'string' && NAME.test(name)) return [];
  const rule = "use 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit";
  return [{ pointer: '/name', message: `${JSON.stringify(name)} is not a valid name; ${rule}` }];
}

class Checker {
  readonly problems: Problem[] = [];

  add(pointer: string, message: string): void {
    this.problems.push({ pointer, message });
  }

  int(value: unknown, pointer: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
      this.add(pointer, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
  }

  string(value: unknown, pointer: string, example: string): value is string {
    if (typeof value === 'string' && value !== '') return true;
    this.add(pointer, `must be a non-empty string, e.g. ${example}; got ${JSON.stringify(value)}`);
    return false;
  }

  stringList(value: unknown, pointer: string): value is string[] {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return true;
    this.add(pointer, `must be a list of strings, got ${JSON.stringify(value)}`);
    return false;
  }
}

function checkGroup(c: Checker, s: Json): void {
  const t = isObject(s.template) ? s.template : undefined;
  if (!t) c.add('/spec/template', 'must be an object with command, args, env and port');
  else {
    c.string(t.command, '/spec/template/command', 'node or /usr/bin/python3');
    c.stringList(t.args, '/spec/template/args');
    if (!isObject(t.env) || !Object.values(t.env).every((v) => typeof v === 'string')) {
      c.add('/spec/template/env', 'must be an object of string values, e.g. { WORK_MS: "5" }');
    }
    c.int(t.port, '/spec/template/port', 0, 65_535);
  }
  for (const field of ['desired', 'min', 'max']) c.int(s[field], `/spec/${field}`, 0);
  const [desired, min, max] = [s.desired as number, s.min as number, s.max as number];
  if (min > max) c.add('/spec/min', `min ${min} is above max ${max}`);
  // desired 0 below min is a stopped group (a Schedule's or an IdlePolicy's stop), not a bad size.
  else if ((desired < min && desired !== 0) || desired > max)
    c.add('/spec/desired', `desired ${desired} is outside min ${min}..max ${max} (0 stops the group)`);
  if (typeof s.instanceType !== 'string' || !(s.instanceType in LOCAL_INSTANCE_TYPES)) {
    const types = Object.keys(LOCAL_INSTANCE_TYPES).join(', ');
    c.add('/spec/instanceType', `${JSON.stringify(s.instanceType)} is not a local instance type; use one of: ${types}`);
  }
  const h = isObject(s.healthCheck) ? s.healthCheck : undefined;
  if (!h) {
    c.add('/spec/healthCheck', 'must be an object with path, intervalMs, timeoutMs and thresholds');
    return;
  }
  if (typeof h.path !== 'string' || !h.path.startsWith('/')) {
    c.add('/spec/healthCheck/path', `must be a path starting with '/', e.g. /healthz; got ${JSON.stringify(h.path)}`);
  }
  c.int(h.intervalMs, '/spec/healthCheck/intervalMs', MIN_HEALTH_INTERVAL_MS);
  c.int(h.timeoutMs, '/spec/healthCheck/timeoutMs', 1);
  c.int(h.unhealthyThreshold, '/spec/healthCheck/unhealthyThreshold', 1, 100);
  c.int(h.healthyThreshold, '/spec/healthCheck/healthyThreshold', 1, 100);
}

function checkBalancer(c: Checker, s: Json): void {
  const m = typeof s.listen === 'string' ? /^(\[[^\]]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(s.listen) : null;
  if (!m || Number(m[2]) > 65_535) {
    c.add(
      '/spec/listen',
      `must be host:port (port 0 picks a free one), e.g. 127.0.0.1:8080; got ${JSON.stringify(s.listen)}`,
    );
  }
  c.string(s.targetGroup, '/spec/targetGroup', 'web (an InstanceGroup name)');
  if (!ALGORITHMS.includes(s.algorithm as string)) {
    c.add('/spec/algorithm', `must be one of ${ALGORITHMS.join(', ')}; got ${JSON.stringify(s.algorithm)}`);
  }
}

function checkSecurityRule(c: Checker, s: Json): void {
  c.string(s.loadBalancer, '/spec/loadBalancer', 'web-lb (a LoadBalancer name)');
  if (c.stringList(s.allow, '/spec/allow')) {
    s.allow.forEach((cidr, i) => {
      if (!parseCidr(cidr.trim()))
        c.add(`/spec/allow/${i}`, `'${cidr}' is not a CIDR; write e.g. 10.0.0.0/8 or ::1/128`);
    });
  }
  if (s.port !== undefined) c.int(s.port, '/spec/port', 1, 65_535);
}

/** Every problem with a spec of `kind`, pointers relative to the resource (`/spec/...`). */
export function checkSpec(kind: ResourceKind, spec: unknown): Problem[] {
  const c = new Checker();
  if (!isObject(spec)) c.add('/spec', `must be an object, got ${JSON.stringify(spec)}`);
  else if (kind === 'InstanceGroup') checkGroup(c, spec);
  else if (kind === 'LoadBalancer') checkBalancer(c, spec);
  else if (kind === 'SecurityRule') checkSecurityRule(c, spec);
  else c.string(spec.group, '/spec/group', 'web (an InstanceGroup name)');
  return c.problems;
}
