/** @module One metrics sample per group: demand through the load model over the group's instances. */
import type { ProviderMetrics } from '../../ports/provider.js';
import type { DemandCurve } from './demand.js';
import type { SimInstanceType } from './catalog.js';
import type { Fleet } from './fleet.js';
import type { FleetGroup, SimInstance } from './instance.js';
import { computeLoad, cpuAt, memoryAt } from './load.js';
import type { Random } from './random.js';

/** How a group is loaded: its demand and, optionally, a capacity other than its type's. */
export interface GroupLoad {
  readonly demand: DemandCurve;
  /** Requests per second per instance at utilisation 1; default the instance type's. */
  readonly capacityRps?: number;
  /** Draws the demand noise; one stream per group. */
  readonly random: Random;
}

/** ProviderMetrics plus what the simulation knows besides. */
export interface SimMetrics extends ProviderMetrics {
  /** Requests per second each routed-to instance receives. */
  readonly rpsPerInstance: number;
  /** Requests per second one instance serves at utilisation 1. */
  readonly capacityRps: number;
  /** Instances the balancer routes to (running and marked healthy). */
  readonly healthyInstances: number;
  /** Utilisation of an answering instance, 0 to 1. */
  readonly utilisation: number;
  /** Requests and errors in the interval, and its length. */
  readonly requests: number;
  readonly errors: number;
  readonly intervalMs: number;
  /** Present when the group had more instances than the per-instance limit: none are listed. */
  readonly perInstanceOmitted?: true;
}

/** How to sample: the interval, the request timeout and the most instances listed one by one. */
export interface SampleOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly perInstanceLimit: number;
}

/** What an instance does in a sample. */
type Role = 'busy' | 'idle' | 'silent' | 'booting';
const ROLES: readonly Role[] = ['busy', 'idle', 'silent', 'booting'];

/** Share of its vCPUs a booting instance uses. */
const BOOT_CPU = 0.3;

/**
 * Samples a group at simulated time `t` (ms since the simulation start). `instances` counts those
 * starting or running (not stopping); CPU is in cores (1 = one vCPU busy) and memory in MiB, both
 * averaged over those instances and listed per instance when there are at most
 * `perInstanceLimit` of them (maps of thousands of entries in every sample would dominate the
 * event log and the simulation's run time).
 */
export function sampleGroup(
  fleet: Fleet,
  group: FleetGroup,
  load: GroupLoad,
  t: number,
  options: SampleOptions,
): SimMetrics {
  const c = census(fleet, group);
  const capacityRps = load.capacityRps ?? group.type.capacityRps;
  const result = computeLoad({
    demandRps: demandAt(load, t),
    targets: c.targets,
    answering: c.busy,
    capacityRps,
    serviceMs: group.type.serviceMs,
    timeoutMs: options.timeoutMs,
  });
  const cpuOf = (role: Role, type: SimInstanceType): number => cores(role, type, result.utilisation);
  const memoryOf = (role: Role, type: SimInstanceType): number =>
    role === 'busy' ? memoryAt(type.baseMemoryMiB, result.inFlightPerTarget, type.memoryMiB) : type.baseMemoryMiB;
  let cpuSum = 0;
  let memSum = 0;
  for (const [type, counts] of c.byType) {
    for (const role of ROLES) {
      cpuSum += counts[role] * cpuOf(role, type);
      memSum += counts[role] * memoryOf(role, type);
    }
  }
  const n = c.instances;
  const list = n <= options.perInstanceLimit;
  const cpu: Record<string, number> = {};
  const memory: Record<string, number> = {};
  for (const inst of list ? group.live : []) {
    const role = roleOf(fleet, inst);
    if (role === undefined) continue;
    cpu[inst.name] = cpuOf(role, inst.type);
    memory[inst.name] = memoryOf(role, inst.type);
  }
  const requests = Math.round((result.rps * options.intervalMs) / 1_000);
  return {
    group: group.name,
    rps: result.rps,
    inFlight: result.inFlight,
    latencyMs: result.latencyMs,
    errorRate: result.errorRate,
    instances: n,
    cpu: { avg: n === 0 ? 0 : round(cpuSum / n), perInstance: cpu },
    memoryMiB: { avg: n === 0 ? 0 : round(memSum / n), perInstance: memory },
    requests,
    errors: Math.round(requests * result.errorRate),
    intervalMs: options.intervalMs,
    rpsPerInstance: result.rpsPerTarget,
    capacityRps,
    healthyInstances: c.targets,
    utilisation: result.utilisation,
    ...(list ? {} : { perInstanceOmitted: true }),
  };
}

/** Running and routed to and answering: busy; running otherwise: idle or silent (not answering). */
function roleOf(fleet: Fleet, inst: SimInstance): Role | undefined {
  if (inst.phase === 'starting') return 'booting';
  if (inst.phase !== 'running') return undefined;
  const answers = fleet.answering(inst);
  if (!answers) return 'silent';
  return inst.healthy ? 'busy' : 'idle';
}

/** CPU in cores of an instance in `role` at utilisation `rho`. */
function cores(role: Role, type: SimInstanceType, rho: number): number {
  const share = role === 'busy' ? cpuAt(rho) : role === 'idle' ? cpuAt(0) : role === 'booting' ? BOOT_CPU : 0;
  return round(share * type.vcpu);
}

/** A group's instances by role and type; recounted only when the group's version moved. */
interface Census {
  readonly version: number;
  /** Starting or running. */
  readonly instances: number;
  /** Running and marked healthy: the balancer routes to them. */
  readonly targets: number;
  /** Targets that answer: they do the work. */
  readonly busy: number;
  readonly byType: ReadonlyMap<SimInstanceType, Record<Role, number>>;
}

const censuses = new WeakMap<FleetGroup, Census>();

function census(fleet: Fleet, group: FleetGroup): Census {
  const cached = censuses.get(group);
  if (cached !== undefined && cached.version === group.version) return cached;
  let instances = 0;
  let targets = 0;
  let busy = 0;
  const byType = new Map<SimInstanceType, Record<Role, number>>();
  for (const inst of group.live) {
    const role = roleOf(fleet, inst);
    if (role === undefined) continue;
    instances++;
    if (inst.phase === 'running' && inst.healthy) targets++;
    if (role === 'busy') busy++;
    let counts = byType.get(inst.type);
    if (counts === undefined) {
      counts = { busy: 0, idle: 0, silent: 0, booting: 0 };
      byType.set(inst.type, counts);
    }
    counts[role]++;
  }
  const fresh = { version: group.version, instances, targets, busy, byType };
  censuses.set(group, fresh);
  return fresh;
}

/** The curve's value at `t`, with its noise drawn from the group's stream. */
function demandAt(load: GroupLoad, t: number): number {
  const rps = load.demand.rpsAt(t);
  if (load.demand.noise === 0) return rps;
  return Math.max(0, rps * (1 + load.demand.noise * load.random.normal()));
}

function round(value: number): number {
  return Math.round(value * 1_000) / 1_000;
}
