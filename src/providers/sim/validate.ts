/** @module Checks resource specs the sim provider is given and fills their defaults (pointers relative to the resource). */
import { invalid, pointerSegment, type Problem } from '../../core/errors.js';
import {
  type DesiredResource,
  type HealthCheckSpec,
  type InstanceGroupSpec,
  type LoadBalancerSpec,
  ResourceKind,
  type SecurityRuleSpec,
  type SpecByKind,
} from '../../core/infra/types.js';
import { SIM_INSTANCE_TYPES, simInstanceType } from './catalog.js';
import { DEFAULT_HEALTH_CHECK } from './health.js';
import { isRecord, Reader } from './read.js';

/** The kinds the sim provider owns. */
export const SIM_KINDS: readonly ResourceKind[] = Object.freeze([
  ResourceKind.InstanceGroup,
  ResourceKind.Instance,
  ResourceKind.LoadBalancer,
  ResourceKind.SecurityRule,
]);

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const CIDR = /^(?:\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}|[0-9A-Fa-f:]+\/\d{1,3})$/;
const LISTEN = /^[^\s:]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;

/** A spec checked and completed, frozen. */
export type CheckedSpec = SpecByKind[ResourceKind];

/** Validates a resource's kind, name and spec; returns the spec with defaults filled. */
export function checkResource(resource: DesiredResource): CheckedSpec {
  const problems: Problem[] = [];
  const r = new Reader(resource as unknown as Record<string, unknown>, '', problems);
  const kind = r.string<ResourceKind>('kind', undefined, SIM_KINDS);
  if (kind === 'Instance') r.problem('kind', "instances are made with 'start-instance', not create or update");
  checkName(resource.name, problems);
  const tags: unknown = resource.tags ?? {};
  if (!isRecord(tags) || !Object.values(tags).every((v) => typeof v === 'string')) {
    problems.push({ pointer: '/tags', message: 'expected an object of strings' });
  }
  const what = `sim: ${String(resource.kind)} ${JSON.stringify(resource.name)} is invalid`;
  if (problems.length > 0) throw invalid(what, problems);
  const spec = checkSpec(kind, r.object('spec', false));
  if (problems.length > 0) throw invalid(what, problems);
  return spec;
}

/** Validates a spec of `kind` (e.g. after an out-of-band merge patch). */
export function checkSpec(kind: ResourceKind, spec: Reader): CheckedSpec {
  switch (kind) {
    case 'InstanceGroup':
      return checkGroup(spec);
    case 'Instance':
      spec.only(['group']);
      return Object.freeze({ group: spec.string('group', undefined) });
    case 'LoadBalancer':
      return checkBalancer(spec);
    case 'SecurityRule':
      return checkRule(spec);
  }
}

function checkName(name: unknown, problems: Problem[]): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    const message = `${JSON.stringify(name) ?? 'missing'} is not a valid name; use 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit`;
    problems.push({ pointer: '/name', message });
  }
}

function checkGroup(r: Reader): InstanceGroupSpec {
  r.only(['template', 'desired', 'min', 'max', 'instanceType', 'healthCheck']);
  const instanceType = r.string('instanceType', undefined);
  if (typeof r.fields.instanceType === 'string' && simInstanceType(instanceType) === undefined) {
    r.problem(
      'instanceType',
      `${JSON.stringify(instanceType)} is not a sim instance type; use one of ${Object.keys(SIM_INSTANCE_TYPES).join(', ')}`,
    );
  }
  const min = r.integer('min', 0);
  const max = r.integer('max', undefined, 0);
  const desired = r.integer('desired', undefined);
  if (min > max) r.problem('min', `${min} is above max (${max})`);
  // 0 below min is a stopped group (a Schedule or IdlePolicy stop).
  if ((desired < min && desired !== 0) || desired > max)
    r.problem(
      'desired',
      `${desired} is outside min..max (${min}..${max})${desired < min ? ' (0 stops the group)' : ''}`,
    );
  return Object.freeze({
    template: checkTemplate(r.object('template', true)),
    desired,
    min,
    max,
    instanceType,
    healthCheck: checkHealth(r.object('healthCheck', true)),
  });
}

/** The sim runs no command, but the template must still be well formed for other providers. */
function checkTemplate(r: Reader): InstanceGroupSpec['template'] {
  r.only(['command', 'args', 'env', 'port']);
  const args = r.fields.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    r.problem('args', 'expected a list of strings');
  const env = r.fields.env ?? {};
  if (!isRecord(env) || !Object.values(env).every((v) => typeof v === 'string')) {
    r.problem('env', 'expected an object of strings');
  }
  return Object.freeze({
    command: r.string('command', 'sim'),
    args: Object.freeze([...(args as string[])]),
    env: Object.freeze({ ...(env as Record<string, string>) }),
    port: r.integer('port', 0),
  });
}

function checkHealth(r: Reader): HealthCheckSpec {
  r.only(['path', 'intervalMs', 'timeoutMs', 'unhealthyThreshold', 'healthyThreshold']);
  const d = DEFAULT_HEALTH_CHECK;
  return Object.freeze({
    path: r.string('path', d.path),
    intervalMs: r.number('intervalMs', d.intervalMs, 50),
    timeoutMs: r.number('timeoutMs', d.timeoutMs, 1),
    unhealthyThreshold: r.integer('unhealthyThreshold', d.unhealthyThreshold, 1),
    healthyThreshold: r.integer('healthyThreshold', d.healthyThreshold, 1),
  });
}

function checkBalancer(r: Reader): LoadBalancerSpec {
  r.only(['listen', 'targetGroup', 'algorithm']);
  const listen = r.string('listen', '0.0.0.0:0');
  if (!LISTEN.test(listen)) r.problem('listen', `${JSON.stringify(listen)}: expected host:port, e.g. '127.0.0.1:8080'`);
  return Object.freeze({
    listen,
    targetGroup: r.string('targetGroup', undefined),
    algorithm: r.string('algorithm', 'round-robin', ['round-robin', 'least-connections']),
  });
}

function checkRule(r: Reader): SecurityRuleSpec {
  r.only(['loadBalancer', 'allow', 'port']);
  const allow = r.fields.allow;
  if (!Array.isArray(allow) || !allow.every((a) => typeof a === 'string' && CIDR.test(a))) {
    r.problem('allow', "expected a list of CIDRs, e.g. ['10.0.0.0/8']");
  }
  const spec = {
    loadBalancer: r.string('loadBalancer', undefined),
    allow: Object.freeze([...(Array.isArray(allow) ? (allow as string[]) : [])]),
  };
  if (r.fields.port === undefined) return Object.freeze(spec);
  const port = r.integer('port', undefined, 1);
  if (port > 65_535) r.problem('port', `${port}: expected a port from 1 to 65535`);
  return Object.freeze({ ...spec, port });
}

/** JSON pointers of the fields that differ between two specs ('/' when one side is missing). */
export function changedPaths(before: unknown, after: unknown, at = ''): string[] {
  if (!isRecord(before) || !isRecord(after)) {
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [at === '' ? '/' : at];
  }
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.flatMap((key) => changedPaths(before[key], after[key], `${at}/${pointerSegment(key)}`));
}

/** RFC 7386 JSON merge patch: `null` removes a field, objects merge, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
