/** @module The sim provider's view of its resources, with observed status and prices. */
import type {
  InstanceGroupStatus,
  InstanceStatus,
  LoadBalancerSpec,
  LoadBalancerStatus,
  Resource,
  ResourceKind,
} from '../../core/infra/types.js';
import { SIM_LOAD_BALANCER_PRICE_PER_HOUR } from './catalog.js';
import type { CheckedSpec } from './validate.js';
import type { Fleet } from './fleet.js';
import { type FleetGroup, isLive, type SimInstance } from './instance.js';

/** A resource the provider keeps as given (instances live in the fleet instead). */
export interface Stored {
  readonly spec: CheckedSpec;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Every resource with its status: groups (price: their live instances'), instances (live ones and
 * those terminated within the retention), load balancers and security rules. Instance prices are
 * included in their group's price; do not add both.
 */
export function observeAll(
  provider: string,
  stored: ReadonlyMap<ResourceKind, Map<string, Stored>>,
  fleet: Fleet,
): Resource[] {
  const out: Resource[] = [];
  const groups = stored.get('InstanceGroup')!;
  for (const [name, s] of groups) {
    const group = fleet.groups.get(name);
    out.push(resource('InstanceGroup', name, s, provider, groupStatus(group), groupPrice(group)));
  }
  for (const inst of fleet.instances.values()) {
    const tags = groups.get(inst.group)?.tags ?? {};
    const price = isLive(inst) ? inst.type.pricePerHour : 0;
    out.push(
      resource('Instance', inst.name, { spec: { group: inst.group }, tags }, provider, instanceStatus(inst), price),
    );
  }
  for (const [name, s] of stored.get('LoadBalancer')!) {
    const status = balancerStatus(name, s.spec as unknown as LoadBalancerSpec, fleet);
    out.push(resource('LoadBalancer', name, s, provider, status, SIM_LOAD_BALANCER_PRICE_PER_HOUR));
  }
  for (const [name, s] of stored.get('SecurityRule')!) {
    out.push(resource('SecurityRule', name, s, provider, {}, 0));
  }
  return out;
}

function resource(
  kind: ResourceKind,
  name: string,
  stored: Stored,
  provider: string,
  status: unknown,
  pricePerHour: number,
): Resource {
  return {
    kind,
    name,
    spec: stored.spec,
    status,
    tags: stored.tags,
    pricePerHour: Math.round(pricePerHour * 10_000) / 10_000,
    provider,
  } as Resource;
}

function groupStatus(group: FleetGroup | undefined): InstanceGroupStatus {
  let running = 0;
  let healthy = 0;
  const instances: string[] = [];
  for (const inst of group?.live ?? []) {
    instances.push(inst.name);
    if (inst.phase !== 'running') continue;
    running++;
    if (inst.healthy) healthy++;
  }
  return { running, healthy, instances };
}

function groupPrice(group: FleetGroup | undefined): number {
  let sum = 0;
  for (const inst of group?.live ?? []) sum += inst.type.pricePerHour;
  return sum;
}

function instanceStatus(inst: SimInstance): InstanceStatus {
  const status: InstanceStatus = {
    group: inst.group,
    phase: inst.phase,
    healthy: inst.healthy,
    address: inst.address,
    startedAt: inst.startedAt,
  };
  return {
    ...status,
    ...(inst.readyAt === undefined ? {} : { readyAt: inst.readyAt }),
    ...(inst.exitCode === undefined ? {} : { exitCode: inst.exitCode, signal: inst.signal ?? null }),
  };
}

/** A sim balancer "listens" on its spec address; port 0 becomes a port made up from its name. */
function balancerStatus(name: string, spec: LoadBalancerSpec, fleet: Fleet): LoadBalancerStatus {
  const group = fleet.groups.get(spec.targetGroup);
  let targets = 0;
  let healthyTargets = 0;
  for (const inst of group?.live ?? []) {
    if (inst.phase !== 'running') continue;
    targets++;
    if (inst.healthy) healthyTargets++;
  }
  return { address: listenAddress(name, spec.listen), targets, healthyTargets };
}

function listenAddress(name: string, listen: string): string {
  const colon = listen.lastIndexOf(':');
  if (listen.slice(colon + 1) !== '0') return listen;
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `${listen.slice(0, colon)}:${30_000 + (h % 10_000)}`;
}
