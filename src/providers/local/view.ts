/** @module The `local` provider's view of its instances, turned into routing targets, observed resources and metrics. */
import {
  type DesiredResource,
  type InstanceGroupSpec,
  type InstancePhase,
  type LoadBalancerSpec,
  type Resource,
  ResourceKind,
} from '../../core/infra/types.js';
import type { ProviderMetrics } from '../../ports/provider.js';
import type { Balancer, BalancerMetrics, BalancerTarget } from './balancer.js';
import type { HealthChecker } from './health.js';
import type { InstanceRecord, ProcessSample } from './processes.js';
import { LOCAL_BALANCER_PRICE_PER_HOUR, LOCAL_INSTANCE_TYPES } from './spec.js';

/** What the provider knows about one instance (mutable: the provider updates it as things happen). */
export interface InstanceView {
  readonly name: string;
  readonly group: string;
  phase: InstancePhase;
  healthy: boolean;
  specHash: string;
  pid?: number;
  address?: string;
  startedAt?: number;
  readyAt?: number;
  /** When it stopped or crashed; terminated views are pruned some time after. */
  endedAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** The change that started it (carried by `started` and `ready`). */
  startCause?: string;
  /** The change that stopped it (carried by `stopped`). */
  stopCause?: string;
  /** Set by restart-instance: start it again under the same name once it has stopped. */
  restart?: { readonly cause?: string };
  checker?: HealthChecker;
}

/** The view of an instance found in the state file at start: adopted (alive) or gone (ended while down). */
export function viewOfRecord(r: InstanceRecord, alive: boolean, now: number): InstanceView {
  const base = { name: r.name, group: r.group, healthy: false, specHash: r.specHash, pid: r.pid, address: r.address };
  if (!alive) return { ...base, startedAt: r.startedAt, phase: 'crashed', exitCode: null, signal: null, endedAt: now };
  const readyAt = r.readyAt === undefined ? {} : { readyAt: r.readyAt };
  return { ...base, startedAt: r.startedAt, phase: r.readyAt === undefined ? 'starting' : 'running', ...readyAt };
}

type Group = DesiredResource & { readonly spec: InstanceGroupSpec };
type Lb = DesiredResource & { readonly spec: LoadBalancerSpec };

/** Starting, running or stopping: a process exists (or is being spawned). */
export function isLive(v: InstanceView): boolean {
  return v.phase === 'starting' || v.phase === 'running' || v.phase === 'stopping';
}

/** The balancer targets of `group`: every started instance, healthy only when ready and passing its checks. */
export function routedTargets(views: Iterable<InstanceView>, group: string): BalancerTarget[] {
  const targets: BalancerTarget[] = [];
  for (const v of views) {
    if (v.group !== group || v.address === undefined) continue;
    if (v.phase !== 'starting' && v.phase !== 'running') continue;
    targets.push({ name: v.name, address: v.address, healthy: v.healthy && v.phase === 'running' });
  }
  return targets;
}

function instanceResource(provider: string, v: InstanceView, group: Group | undefined): Resource<'Instance'> {
  const price = group && isLive(v) ? (LOCAL_INSTANCE_TYPES[group.spec.instanceType]?.pricePerHour ?? 0) : 0;
  return {
    kind: ResourceKind.Instance,
    name: v.name,
    spec: { group: v.group },
    status: {
      group: v.group,
      phase: v.phase,
      healthy: v.healthy,
      ...(v.address === undefined ? {} : { address: v.address }),
      ...(v.pid === undefined ? {} : { pid: v.pid }),
      ...(v.startedAt === undefined ? {} : { startedAt: v.startedAt }),
      ...(v.readyAt === undefined ? {} : { readyAt: v.readyAt }),
      ...(v.exitCode === undefined ? {} : { exitCode: v.exitCode }),
      ...(v.signal === undefined ? {} : { signal: v.signal }),
    },
    tags: { ...(group?.tags ?? {}), 'homeostat.io/group': v.group, 'homeostat.io/spec-hash': v.specHash },
    pricePerHour: price,
    provider,
  };
}

export interface ObservedInput {
  readonly provider: string;
  readonly groups: Iterable<Group>;
  readonly lbs: Iterable<{ readonly resource: Lb; readonly balancer?: Balancer }>;
  readonly rules: Iterable<DesiredResource>;
  readonly instances: Iterable<InstanceView>;
}

/** Every resource with its observed status, as `Provider.observe` returns them. */
export function buildObserved(input: ObservedInput): Resource[] {
  const views = [...input.instances];
  const groups = new Map([...input.groups].map((g) => [g.name, g]));
  const out: Resource[] = [];
  for (const g of groups.values()) {
    const mine = views.filter((v) => v.group === g.name && isLive(v));
    const serving = mine.filter((v) => v.phase !== 'stopping');
    const price = LOCAL_INSTANCE_TYPES[g.spec.instanceType]?.pricePerHour ?? 0;
    out.push({
      ...g,
      status: {
        running: serving.length,
        healthy: serving.filter((v) => v.healthy && v.phase === 'running').length,
        instances: mine.map((v) => v.name),
      },
      pricePerHour: price * mine.length,
    } as Resource);
  }
  for (const v of views) out.push(instanceResource(input.provider, v, groups.get(v.group)));
  for (const { resource, balancer } of input.lbs) {
    const targets = routedTargets(views, resource.spec.targetGroup);
    out.push({
      ...resource,
      status: {
        ...(balancer ? { address: balancer.address } : {}),
        targets: targets.length,
        healthyTargets: targets.filter((t) => t.healthy).length,
      },
      pricePerHour: LOCAL_BALANCER_PRICE_PER_HOUR,
    } as Resource);
  }
  for (const r of input.rules) out.push({ ...r, status: {}, pricePerHour: 0 } as Resource);
  return out;
}

const round = (value: number, per: number): number => Math.round(value * per) / per;

function perInstance(values: Map<string, number>, per: number): { avg: number; perInstance: Record<string, number> } {
  const list = [...values.values()];
  const avg = list.length === 0 ? 0 : list.reduce((a, b) => a + b, 0) / list.length;
  return { avg: round(avg, per), perInstance: Object.fromEntries([...values].map(([k, v]) => [k, round(v, per)])) };
}

/**
 * One group's metrics for one interval: traffic from its balancers' windows (summed; latency from
 * the busiest balancer, since percentiles do not add up), CPU (cores) and memory (MiB) per instance.
 */
export function buildGroupMetrics(
  group: string,
  views: Iterable<InstanceView>,
  samples: ReadonlyMap<string, ProcessSample>,
  windows: readonly (BalancerMetrics | undefined)[],
): ProviderMetrics & { readonly requests: number; readonly errors: number } {
  const taken = windows.filter((w): w is BalancerMetrics => w !== undefined);
  const sum = (f: (w: BalancerMetrics) => number): number => taken.reduce((a, w) => a + f(w), 0);
  const busiest = [...taken].sort((a, b) => b.requests - a.requests)[0];
  const requests = sum((w) => w.requests);
  const errors = sum((w) => w.errors);
  const cpu = new Map<string, number>();
  const memory = new Map<string, number>();
  let instances = 0;
  for (const v of views) {
    if (v.group !== group || !isLive(v) || v.phase === 'stopping') continue;
    instances += 1;
    const s = samples.get(v.name);
    if (s === undefined) continue;
    cpu.set(v.name, s.cpu);
    memory.set(v.name, s.memoryMiB);
  }
  return {
    group,
    rps: round(
      sum((w) => w.rps),
      1_000,
    ),
    inFlight: sum((w) => w.inFlight),
    latencyMs: busiest?.latencyMs ?? { p50: 0, p95: 0, p99: 0 },
    errorRate: requests === 0 ? 0 : round(errors / requests, 10_000),
    instances,
    cpu: perInstance(cpu, 1_000),
    memoryMiB: perInstance(memory, 10),
    requests,
    errors,
  };
}
