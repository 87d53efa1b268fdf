/** @module Parses and validates `kind: Stack` manifests into a resolved, frozen StackSpec (pure). */
import { invalid } from '../errors.js';
import { parseIp } from '../pattern/ip.js';
import { type ManifestReader, closest, freezeCopy, isRecord, newReader } from '../rules/manifest-reader.js';
import {
  MAX_TAGS,
  type ParsedSpec,
  type StackResourceKind,
  type StackValidationContext,
  parseListenAddress,
  readChoice,
  readResourceSpec,
  readStringMap,
  stackResourceKinds,
} from './stack-resources.js';
import { type DesiredResource, ResourceKind } from './types.js';

export {
  HEALTH_CHECK_DEFAULTS,
  MAX_ALLOW,
  MAX_GROUP_SIZE,
  MAX_TAGS,
  type ProviderCapabilities,
  RESERVED_TAG_PREFIX,
  type StackResourceKind,
  type StackValidationContext,
  parseListenAddress,
  stackResourceKinds,
} from './stack-resources.js';

export const STACK_API_VERSION = 'homeostat/v1';
/** The tag every resource a stack declares carries; its value is the stack name. */
export const STACK_TAG = 'homeostat.io/stack';
/** What happens when a declared resource is changed out of band. */
export const DriftMode = { Revert: 'revert', Accept: 'accept', Alert: 'alert' } as const;
export type DriftMode = (typeof DriftMode)[keyof typeof DriftMode];

/** Stack and resource names: a DNS label (1 to 63 lower-case letters, digits and '-'), as Kubernetes. */
export const RESOURCE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Resources per stack. */
export const MAX_RESOURCES = 500;

/** A validated stack: defaults applied, every resource tagged with {@link STACK_TAG}, frozen. */
export interface StackSpec {
  readonly name: string;
  readonly description?: string;
  /** The default provider of its resources. Default 'local'. */
  readonly provider: string;
  /** Default 'alert'. */
  readonly drift: DriftMode;
  /** In declaration order. */
  readonly resources: readonly DesiredResource[];
}

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const SPEC_FIELDS = ['provider', 'drift', 'resources'];
const RESOURCE_FIELDS = ['kind', 'name', 'provider', 'tags', 'spec'];
const NAME_RULE = "use 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit";

/** One declared resource while it is being read; `parsed` is missing when its spec is invalid. */
interface Entry {
  readonly at: string;
  readonly kind: StackResourceKind;
  readonly name: string | undefined;
  readonly provider: string;
  readonly tags: Record<string, string>;
  /** The spec as written (`{}` when not an object), for cross-resource checks. */
  readonly raw: Record<string, unknown>;
  parsed?: ParsedSpec;
}

interface ReadEnv {
  readonly ctx: StackValidationContext;
  readonly provider: string;
  /** The default provider was not written and is not configured: reported once. */
  missingDefault: boolean;
}

/**
 * Validates a `kind: Stack` manifest (parsed JSON or YAML) and resolves it: defaults applied
 * (health check, counts, cheapest instance type, provider), durations in ms, prices from the
 * provider's instance types, every resource tagged `homeostat.io/stack: <name>`, all frozen.
 * Every problem is collected with its JSON pointer; throws E_INVALID `invalid stack <name>`.
 */
export function parseStackManifest(doc: unknown, ctx: StackValidationContext): StackSpec {
  const r = newReader();
  const root = r.object(doc, '', 'a manifest object with apiVersion, kind, metadata and spec');
  if (!root) throw invalid('invalid stack manifest', r.problems);
  r.fields(root, '', TOP_FIELDS);
  const kindOk = readHeader(r, root);
  const meta = readMetadata(r, root.metadata);
  const what = meta.name === undefined ? 'invalid stack manifest' : `invalid stack ${meta.name}`;
  const spec = kindOk ? r.object(root.spec, '/spec', 'an object with provider, drift and resources') : undefined;
  if (!spec) throw invalid(what, r.problems);
  r.fields(spec, '/spec', SPEC_FIELDS);
  const env = readDefaultProvider(r, spec.provider, ctx);
  const drift = readChoice(r, spec.drift, '/spec/drift', Object.values(DriftMode), DriftMode.Alert);
  const entries = readResources(r, spec.resources, env);
  checkReferences(r, entries);
  r.problems.sort((a, b) => resourceIndex(a.pointer) - resourceIndex(b.pointer));
  if (r.problems.length > 0 || meta.name === undefined) throw invalid(what, r.problems);
  const stack = meta.name;
  const resources = entries.map((e) => toResource(e, stack, ctx));
  return Object.freeze({
    name: stack,
    ...(meta.description === undefined ? {} : { description: meta.description }),
    provider: env.provider,
    drift,
    resources: Object.freeze(resources),
  });
}

/** Orders problems by the resource they are in (stable), so cross-resource checks sit with the rest. */
function resourceIndex(pointer: string): number {
  const m = /^\/spec\/resources\/(\d+)/.exec(pointer);
  return m ? Number(m[1]) : -1;
}

function readHeader(r: ManifestReader, root: Record<string, unknown>): boolean {
  if (root.apiVersion !== STACK_API_VERSION) {
    const got = root.apiVersion === undefined ? 'required' : `${JSON.stringify(root.apiVersion)} is not supported`;
    r.add('/apiVersion', `${got}; use apiVersion: ${STACK_API_VERSION}`);
  }
  if (root.kind === 'Stack') return true;
  const got = root.kind === undefined ? 'required' : `${JSON.stringify(root.kind)} is not a Stack`;
  r.add('/kind', `${got}; use kind: Stack`);
  return false;
}

function readMetadata(r: ManifestReader, value: unknown): { name?: string; description?: string } {
  const meta = r.object(value, '/metadata', 'an object with name (and optional description)');
  if (!meta) return {};
  r.fields(meta, '/metadata', ['name', 'description']);
  const description = r.text(meta.description, '/metadata/description', 1024);
  const name = readName(r, meta.name, '/metadata/name', 'stack');
  return name === undefined ? { description } : { name, description };
}

function readName(r: ManifestReader, value: unknown, at: string, what: string): string | undefined {
  if (typeof value === 'string' && RESOURCE_NAME.test(value)) return value;
  const why = value === undefined ? 'required' : `${JSON.stringify(value)} is not a valid ${what} name`;
  r.add(at, `${why}; ${NAME_RULE} (e.g. web)`);
  return undefined;
}

function knownProviders(ctx: StackValidationContext): string {
  return Object.keys(ctx.providers).sort().join(', ') || '(none configured)';
}

function unknownProvider(r: ManifestReader, name: unknown, at: string, ctx: StackValidationContext): void {
  const hint = typeof name === 'string' ? closest(name, Object.keys(ctx.providers)) : undefined;
  const mean = hint ? `did you mean '${hint}'? ` : '';
  r.add(at, `unknown provider ${JSON.stringify(name)}; ${mean}configured providers: ${knownProviders(ctx)}`);
}

function readDefaultProvider(r: ManifestReader, value: unknown, ctx: StackValidationContext): ReadEnv {
  if (value === undefined) return { ctx, provider: 'local', missingDefault: !Object.hasOwn(ctx.providers, 'local') };
  if (typeof value !== 'string' || !Object.hasOwn(ctx.providers, value)) {
    unknownProvider(r, value, '/spec/provider', ctx);
  }
  return { ctx, provider: typeof value === 'string' ? value : 'local', missingDefault: false };
}

function readResources(r: ManifestReader, value: unknown, env: ReadEnv): Entry[] {
  if (!Array.isArray(value)) {
    const example = 'e.g. - { kind: InstanceGroup, name: web, spec: { ... } }';
    r.add('/spec/resources', `${value === undefined ? 'required' : 'must be'}: a list of resources, ${example}`);
    return [];
  }
  if (value.length > MAX_RESOURCES) {
    r.add('/spec/resources', `has ${value.length} resources; at most ${MAX_RESOURCES} (split the stack)`);
  }
  const entries = value.map((v, i) => readEntry(r, v, `/spec/resources/${i}`, env));
  const seen = new Map<string, string>();
  for (const e of entries) {
    if (!e?.name) continue;
    const key = `${e.kind}/${e.name}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, e.at);
    else
      r.add(`${e.at}/name`, `'${e.name}' is already the name of the ${e.kind} at ${first}; names are unique per kind`);
  }
  return entries.filter((e): e is Entry => e !== undefined);
}

function readEntry(r: ManifestReader, value: unknown, at: string, env: ReadEnv): Entry | undefined {
  const o = r.object(value, at, 'a resource object with kind, name and spec');
  if (!o) return undefined;
  r.fields(o, at, RESOURCE_FIELDS);
  const kind = readKind(r, o.kind, `${at}/kind`);
  const name = readName(r, o.name, `${at}/name`, 'resource');
  const tags = readStringMap(r, o.tags, `${at}/tags`, 'tag', MAX_TAGS);
  const provider = readProvider(r, o.provider, at, env);
  if (!kind) return undefined;
  const caps = Object.hasOwn(env.ctx.providers, provider) ? env.ctx.providers[provider] : undefined;
  if (caps && !caps.kinds.includes(kind)) {
    const supported = caps.kinds.filter((k) => k !== 'Instance').join(', ') || 'nothing';
    r.add(`${at}/kind`, `provider ${provider} does not support ${kind}; it supports ${supported}`);
  }
  const entry: Entry = { at, kind, name, provider, tags, raw: isRecord(o.spec) ? o.spec : {} };
  const parsed = readResourceSpec(r, kind, o.spec, `${at}/spec`, { provider, caps, ctx: env.ctx });
  if (parsed) entry.parsed = parsed;
  return entry;
}

function readKind(r: ManifestReader, value: unknown, at: string): StackResourceKind | undefined {
  if (stackResourceKinds.includes(value as StackResourceKind)) return value as StackResourceKind;
  const kinds = stackResourceKinds.join(', ');
  if (value === ResourceKind.Instance) {
    r.add(
      at,
      `Instance resources are not declared in stacks: an InstanceGroup starts and owns them (set its desired count); use one of: ${kinds}`,
    );
    return undefined;
  }
  const hint = typeof value === 'string' ? closest(value, stackResourceKinds) : undefined;
  const got = value === undefined ? 'required' : `unknown kind ${JSON.stringify(value)}`;
  r.add(at, `${got}; ${hint ? `did you mean '${hint}'? ` : ''}use one of: ${kinds}`);
  return undefined;
}

function readProvider(r: ManifestReader, value: unknown, at: string, env: ReadEnv): string {
  if (value === undefined) {
    if (env.missingDefault) {
      env.missingDefault = false;
      r.add(
        '/spec/provider',
        `required: no provider named 'local' is configured; use one of: ${knownProviders(env.ctx)}`,
      );
    }
    return env.provider;
  }
  if (typeof value === 'string' && Object.hasOwn(env.ctx.providers, value)) return value;
  unknownProvider(r, value, `${at}/provider`, env.ctx);
  return typeof value === 'string' ? value : env.provider;
}

/**
 * Cross-resource checks on the raw specs (so they run even when another field of the resource is
 * invalid): references resolve within the stack and its provider; fixed listeners do not collide.
 */
function checkReferences(r: ManifestReader, entries: readonly Entry[]): void {
  const named = (kind: StackResourceKind): Map<string, Entry> =>
    new Map(entries.filter((e) => e.kind === kind && e.name).map((e) => [e.name!, e]));
  const groups = named('InstanceGroup');
  const balancers = named('LoadBalancer');
  const listeners = new Map<number, { host: string; at: string }[]>();
  for (const e of entries) {
    const raw = e.raw;
    if (e.kind === 'LoadBalancer') {
      if (nonEmpty(raw.targetGroup))
        checkRef(r, e, groups, `${e.at}/spec/targetGroup`, raw.targetGroup, 'InstanceGroup');
      if (typeof raw.listen === 'string') checkListener(r, listeners, raw.listen, `${e.at}/spec/listen`);
    } else if (e.kind === 'SecurityRule' && nonEmpty(raw.loadBalancer)) {
      const lb = checkRef(r, e, balancers, `${e.at}/spec/loadBalancer`, raw.loadBalancer, 'LoadBalancer');
      const listen = lb?.raw.listen;
      const lbPort = typeof listen === 'string' ? parseListenAddress(listen)?.port : undefined;
      if (typeof raw.port === 'number' && lbPort !== undefined && raw.port !== lbPort) {
        const fix = lbPort === 0 ? 'it listens on a port picked at start; omit port' : `use ${lbPort} or omit port`;
        r.add(`${e.at}/spec/port`, `${raw.port} is not the listen port of ${String(listen)}; ${fix}`);
      }
    }
  }
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function checkRef(
  r: ManifestReader,
  from: Entry,
  pool: Map<string, Entry>,
  at: string,
  name: string,
  kind: StackResourceKind,
): Entry | undefined {
  const target = pool.get(name);
  if (!target) {
    const hint = closest(name, [...pool.keys()]);
    const known = [...pool.keys()].sort().join(', ') || 'none';
    r.add(at, `no ${kind} named '${name}' in this stack; ${hint ? `did you mean '${hint}'? ` : ''}declared: ${known}`);
  } else if (target.provider !== from.provider) {
    r.add(
      at,
      `${kind} ${name} is on provider ${target.provider}, this ${from.kind} on ${from.provider}; they must share a provider`,
    );
  }
  return target;
}

function checkListener(
  r: ManifestReader,
  seen: Map<number, { host: string; at: string }[]>,
  listen: string,
  at: string,
): void {
  const addr = parseListenAddress(listen);
  if (!addr || addr.port === 0) return;
  const wildcard = (h: string): boolean => parseIp(h)?.every((b) => b === 0) === true;
  const list = seen.get(addr.port) ?? [];
  const clash = list.find((o) => o.host === addr.host || wildcard(o.host) || wildcard(addr.host));
  if (clash) r.add(at, `${listen} collides with the listener at ${clash.at}; use another port (or port 0)`);
  seen.set(addr.port, [...list, { host: addr.host, at }]);
}

function toResource(e: Entry, stack: string, ctx: StackValidationContext): DesiredResource {
  const p = e.parsed!;
  const price =
    p.kind === 'InstanceGroup' ? ctx.providers[e.provider]?.instanceTypes[p.spec.instanceType]?.pricePerHour : 0;
  return freezeCopy({
    kind: e.kind,
    name: e.name!,
    spec: p.spec,
    tags: { ...e.tags, [STACK_TAG]: stack },
    pricePerHour: price ?? 0,
    provider: e.provider,
  });
}
