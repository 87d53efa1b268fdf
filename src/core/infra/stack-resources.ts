/** @module Reads and validates the spec of each resource kind a stack declares, applying defaults (pure). */
import { pointerSegment } from '../errors.js';
import { parseCidr, parseIp } from '../pattern/ip.js';
import { type ManifestReader, closest } from '../rules/manifest-reader.js';
import {
  type BalancerAlgorithm,
  type HealthCheckSpec,
  type InstanceGroupSpec,
  type InstanceTemplate,
  type LoadBalancerSpec,
  ResourceKind,
  type SecurityRuleSpec,
} from './types.js';

/** Tag names under this prefix belong to Homeostat and cannot be declared. */
export const RESERVED_TAG_PREFIX = 'homeostat.io/';
export const MAX_TAGS = 50;
export const MAX_GROUP_SIZE = 100_000;
export const MAX_ALLOW = 100;

/** Health check defaults (durations in ms); timeout defaults to the interval when that is shorter. */
export const HEALTH_CHECK_DEFAULTS: HealthCheckSpec = Object.freeze({
  path: '/healthz',
  intervalMs: 1000,
  timeoutMs: 500,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
});

/** The kinds a stack may declare (instances belong to their groups). */
export const stackResourceKinds = [ResourceKind.InstanceGroup, ResourceKind.LoadBalancer, ResourceKind.SecurityRule];
export type StackResourceKind = (typeof stackResourceKinds)[number];

/** What one provider offers, as far as validation needs it (a `Provider` satisfies this). */
export interface ProviderCapabilities {
  readonly kinds: readonly string[];
  readonly instanceTypes: Readonly<Record<string, { readonly pricePerHour: number }>>;
}

/** What a stack is validated against: the configured providers by name. */
export interface StackValidationContext {
  readonly providers: Readonly<Record<string, ProviderCapabilities>>;
}

/** A resource spec that passed validation, with its kind. */
export type ParsedSpec =
  | { readonly kind: 'InstanceGroup'; readonly spec: InstanceGroupSpec }
  | { readonly kind: 'LoadBalancer'; readonly spec: LoadBalancerSpec }
  | { readonly kind: 'SecurityRule'; readonly spec: SecurityRuleSpec };

/** The resource's provider: its name, its capabilities (undefined when unknown) and all providers. */
export interface SpecEnv {
  readonly provider: string;
  readonly caps: ProviderCapabilities | undefined;
  readonly ctx: StackValidationContext;
}

const GROUP_FIELDS = ['template', 'desired', 'min', 'max', 'instanceType', 'healthCheck'];
const HEALTH_FIELDS = ['path', 'interval', 'timeout', 'unhealthyThreshold', 'healthyThreshold'];
const ALGORITHMS: readonly BalancerAlgorithm[] = ['round-robin', 'least-connections'];
const MAP_KEYS = {
  tag: {
    pattern: /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/,
    rule: "use up to 63 letters, digits, '.', '_' or '-' with an optional 'prefix/'",
  },
  env: { pattern: /^[A-Za-z_][A-Za-z0-9_]{0,254}$/, rule: 'use letters, digits and _, not starting with a digit' },
};

/** One of `allowed` (with a "did you mean" hint), or `fallback` when missing. */
export function readChoice<T extends string>(
  r: ManifestReader,
  value: unknown,
  at: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (allowed.includes(value as T)) return value as T;
  const hint = typeof value === 'string' ? closest(value, allowed) : undefined;
  const mean = hint ? `did you mean '${hint}'? ` : '';
  r.add(at, `${JSON.stringify(value)} is not allowed; ${mean}use one of: ${allowed.join(', ')} (default ${fallback})`);
  return fallback;
}

/** An object of string values (tags, env); numbers and booleans must be quoted. */
export function readStringMap(
  r: ManifestReader,
  value: unknown,
  at: string,
  what: 'tag' | 'env',
  max: number,
): Record<string, string> {
  const o = r.optionalObject(value, at, `an object of ${what} names to string values, e.g. { team: shop }`);
  const out: Record<string, string> = {};
  const keys = Object.keys(o);
  if (keys.length > max) r.add(at, `has ${keys.length} entries; at most ${max}`);
  for (const key of keys) {
    const p = `${at}/${pointerSegment(key)}`;
    const v = o[key];
    if (what === 'tag' && key.startsWith(RESERVED_TAG_PREFIX)) {
      r.add(p, `tag names under ${RESERVED_TAG_PREFIX} are reserved for Homeostat; rename the tag`);
    } else if (!MAP_KEYS[what].pattern.test(key)) {
      r.add(p, `'${key}' is not a valid ${what} name; ${MAP_KEYS[what].rule}`);
    }
    if (typeof v === 'string' && v.length <= 4096) out[key] = v;
    else if (typeof v === 'string') r.add(p, 'is longer than 4096 characters');
    else r.add(p, `must be a string, not ${JSON.stringify(v)} (quote it: "${String(v)}")`);
  }
  return out;
}

/** Reads the `spec` of a resource of `kind`; undefined (with problems) when invalid. */
export function readResourceSpec(
  r: ManifestReader,
  kind: StackResourceKind,
  value: unknown,
  at: string,
  env: SpecEnv,
): ParsedSpec | undefined {
  if (kind === 'InstanceGroup') {
    const spec = readGroup(r, value, at, env);
    return spec && { kind, spec };
  }
  if (kind === 'LoadBalancer') {
    const spec = readBalancer(r, value, at);
    return spec && { kind, spec };
  }
  const spec = readSecurityRule(r, value, at);
  return spec && { kind, spec };
}

function readGroup(r: ManifestReader, value: unknown, at: string, env: SpecEnv): InstanceGroupSpec | undefined {
  const s = r.object(value, at, 'an object with template and desired (and min, max, instanceType, healthCheck)');
  if (!s) return undefined;
  r.fields(s, at, GROUP_FIELDS);
  const before = r.problems.length;
  const template = readTemplate(r, s.template, `${at}/template`);
  const counts = readCounts(r, s, at);
  const instanceType = readInstanceType(r, s.instanceType, `${at}/instanceType`, env);
  const healthCheck = readHealthCheck(r, s.healthCheck, `${at}/healthCheck`);
  if (r.problems.length > before || !template || !counts || instanceType === undefined) return undefined;
  return { template, ...counts, instanceType, healthCheck };
}

function readTemplate(r: ManifestReader, value: unknown, at: string): InstanceTemplate | undefined {
  const t = r.object(value, at, 'an object with command (and args, env, port)');
  if (!t) return undefined;
  r.fields(t, at, ['command', 'args', 'env', 'port']);
  const command = t.command;
  if (typeof command !== 'string' || command === '' || command.length > 4096) {
    r.add(`${at}/command`, 'required: the program to run, e.g. node');
  }
  const args = t.args ?? [];
  const argsOk = Array.isArray(args) && args.every((a) => typeof a === 'string');
  if (!argsOk) r.add(`${at}/args`, 'must be a list of strings, e.g. [examples/services/web.mjs] (quote numbers)');
  const env = readStringMap(r, t.env, `${at}/env`, 'env', 1000);
  const port = r.integer(t.port, `${at}/port`, 0, 65535, 0);
  if (typeof command !== 'string' || !argsOk) return undefined;
  return { command, args: args as string[], env, port };
}

function readCount(r: ManifestReader, value: unknown, at: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_GROUP_SIZE) return value;
  r.add(at, `must be a whole number from 0 to ${MAX_GROUP_SIZE}, not ${JSON.stringify(value)}`);
  return Number.NaN;
}

/** desired defaults to min (else 1); min and max default to desired: a fixed-size group. */
function readCounts(
  r: ManifestReader,
  s: Record<string, unknown>,
  at: string,
): Pick<InstanceGroupSpec, 'desired' | 'min' | 'max'> | undefined {
  const d = readCount(r, s.desired, `${at}/desired`);
  const lo = readCount(r, s.min, `${at}/min`);
  const hi = readCount(r, s.max, `${at}/max`);
  const desired = d ?? lo ?? 1;
  const min = lo ?? Math.min(desired, hi ?? desired);
  const max = hi ?? Math.max(desired, min);
  if ([desired, min, max].some(Number.isNaN)) return undefined;
  const rule = 'min ≤ desired ≤ max';
  if (min > max) {
    r.add(`${at}/${lo === undefined ? 'max' : 'min'}`, `min (${min}) exceeds max (${max}); ${rule}`);
  } else if (desired < min) {
    r.add(`${at}/desired`, `${desired} is below min (${min}); ${rule}`);
  } else if (desired > max) {
    r.add(`${at}/${d === undefined ? 'max' : 'desired'}`, `desired (${desired}) is above max (${max}); ${rule}`);
  }
  return { desired, min, max };
}

/** A known instance type of the resource's provider; default the cheapest (then by name). */
function readInstanceType(r: ManifestReader, value: unknown, at: string, env: SpecEnv): string | undefined {
  if (!env.caps) return typeof value === 'string' ? value : '';
  const types = Object.keys(env.caps.instanceTypes).sort();
  const price = (t: string): number => env.caps?.instanceTypes[t]?.pricePerHour ?? 0;
  if (value === undefined && types.length > 0) return [...types].sort((a, b) => price(a) - price(b))[0];
  if (typeof value === 'string' && types.includes(value)) return value;
  const known = types.join(', ') || '(none)';
  if (typeof value !== 'string') {
    const why = value === undefined ? 'required' : 'must be a string';
    r.add(at, `${why}: an instance type of provider ${env.provider}: ${known}`);
    return undefined;
  }
  const owner = Object.keys(env.ctx.providers).find((p) => Object.hasOwn(env.ctx.providers[p]!.instanceTypes, value));
  const hint = closest(value, types);
  let fix = hint ? `did you mean '${hint}'? ` : '';
  if (owner) fix = `it is an instance type of provider ${owner} (set provider: ${owner} on this resource); `;
  r.add(at, `unknown instance type '${value}' for provider ${env.provider}; ${fix}known: ${known}`);
  return undefined;
}

function readHealthCheck(r: ManifestReader, value: unknown, at: string): HealthCheckSpec {
  const o = r.optionalObject(value, at, `an object with ${HEALTH_FIELDS.join(', ')}`);
  r.fields(o, at, HEALTH_FIELDS);
  const d = HEALTH_CHECK_DEFAULTS;
  const pathOk = o.path === undefined || (typeof o.path === 'string' && /^\/\S{0,1023}$/.test(o.path));
  if (!pathOk) r.add(`${at}/path`, `must be an HTTP path starting with '/' without spaces (default ${d.path})`);
  const path = pathOk && typeof o.path === 'string' ? o.path : d.path;
  const intervalMs = r.duration(o.interval, `${at}/interval`, 50, 300_000, d.intervalMs);
  const timeoutMs = r.duration(o.timeout, `${at}/timeout`, 10, 60_000, Math.min(d.timeoutMs, intervalMs));
  if (timeoutMs > intervalMs) {
    const [timeout, interval] = [r.formatDuration(timeoutMs), r.formatDuration(intervalMs)];
    r.add(`${at}/timeout`, `${timeout} exceeds the interval (${interval}); make it shorter`);
  }
  return Object.freeze({
    path,
    intervalMs,
    timeoutMs,
    unhealthyThreshold: r.integer(o.unhealthyThreshold, `${at}/unhealthyThreshold`, 1, 100, d.unhealthyThreshold),
    healthyThreshold: r.integer(o.healthyThreshold, `${at}/healthyThreshold`, 1, 100, d.healthyThreshold),
  });
}

/** Parses `host:port` (IPv4, `[IPv6]` or localhost; port 0 to 65535); undefined when invalid. */
export function parseListenAddress(text: string): { readonly host: string; readonly port: number } | undefined {
  const m = /^(\[([^\]]+)\]|[^:[\]]+):(0|[1-9][0-9]{0,4})$/.exec(text);
  if (!m) return undefined;
  const host = m[2] ?? m[1]!;
  const port = Number(m[3]);
  const hostOk = host === 'localhost' || (parseIp(host) !== undefined && (m[2] === undefined) === !host.includes(':'));
  return hostOk && port <= 65535 ? { host, port } : undefined;
}

function readBalancer(r: ManifestReader, value: unknown, at: string): LoadBalancerSpec | undefined {
  const s = r.object(value, at, 'an object with listen and targetGroup (and algorithm)');
  if (!s) return undefined;
  r.fields(s, at, ['listen', 'targetGroup', 'algorithm']);
  const listenOk = typeof s.listen === 'string' && parseListenAddress(s.listen) !== undefined;
  if (!listenOk) {
    const got = s.listen === undefined ? 'required' : `${JSON.stringify(s.listen)} is not a valid address`;
    r.add(
      `${at}/listen`,
      `${got}; use host:port with an IP address or localhost, e.g. 127.0.0.1:8080 (port 0 picks a free port)`,
    );
  }
  const groupOk = typeof s.targetGroup === 'string' && s.targetGroup !== '';
  if (!groupOk) r.add(`${at}/targetGroup`, 'required: the name of an InstanceGroup in this stack');
  const algorithm = readChoice(r, s.algorithm, `${at}/algorithm`, ALGORITHMS, 'round-robin');
  if (!listenOk || !groupOk) return undefined;
  return { listen: s.listen as string, targetGroup: s.targetGroup as string, algorithm };
}

function readSecurityRule(r: ManifestReader, value: unknown, at: string): SecurityRuleSpec | undefined {
  const s = r.object(value, at, 'an object with loadBalancer and allow (and port)');
  if (!s) return undefined;
  r.fields(s, at, ['loadBalancer', 'allow', 'port']);
  const lbOk = typeof s.loadBalancer === 'string' && s.loadBalancer !== '';
  if (!lbOk) r.add(`${at}/loadBalancer`, 'required: the name of a LoadBalancer in this stack');
  const allow = readAllow(r, s.allow, `${at}/allow`);
  const port = s.port;
  const portOk =
    port === undefined || (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535);
  if (!portOk) r.add(`${at}/port`, `must be a port from 1 to 65535, or omitted for the balancer's port`);
  if (!lbOk || !allow || !portOk) return undefined;
  return { loadBalancer: s.loadBalancer as string, allow, ...(port === undefined ? {} : { port: port as number }) };
}

function readAllow(r: ManifestReader, value: unknown, at: string): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ALLOW) {
    r.add(at, `required: a list of 1 to ${MAX_ALLOW} CIDRs, e.g. [127.0.0.0/8] (0.0.0.0/0 and ::/0 admit everyone)`);
    return undefined;
  }
  const before = r.problems.length;
  value.forEach((c: unknown, i) => {
    if (typeof c === 'string' && parseCidr(c)) return;
    const single =
      typeof c === 'string' && parseIp(c) ? ` (for one address write ${c}/${c.includes(':') ? 128 : 32})` : '';
    r.add(`${at}/${i}`, `${JSON.stringify(c)} is not a CIDR; use address/prefix, e.g. 10.0.0.0/8${single}`);
  });
  return r.problems.length > before ? undefined : (value as string[]);
}
