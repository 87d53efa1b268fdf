/**
 * @module The resource model: what providers own and stacks declare. A resource has a kind, a
 * name unique per kind, a desired `spec`, an observed `status`, tags and an hourly price.
 */

export const ResourceKind = {
  InstanceGroup: 'InstanceGroup',
  Instance: 'Instance',
  LoadBalancer: 'LoadBalancer',
  SecurityRule: 'SecurityRule',
} as const;
export type ResourceKind = (typeof ResourceKind)[keyof typeof ResourceKind];

/** `<kind>/<name>` in lower case kind, e.g. `instancegroup/web`; used as the event subject. */
export type ResourceRef = string;

export function resourceRef(kind: ResourceKind, name: string): ResourceRef {
  return `${kind.toLowerCase()}/${name}`;
}

export interface HealthCheckSpec {
  /** HTTP path probed on the instance's port. Default '/healthz'. */
  readonly path: string;
  /** Default 1,000 ms; sub-second allowed (at least 50). */
  readonly intervalMs: number;
  /** Default 500 ms. */
  readonly timeoutMs: number;
  /** Consecutive failures that mark an instance unhealthy. Default 2. */
  readonly unhealthyThreshold: number;
  /** Consecutive successes that mark it healthy (again). Default 1. */
  readonly healthyThreshold: number;
}

export interface InstanceTemplate {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** 0: the provider picks a free port per instance and passes it as PORT. */
  readonly port: number;
}

export interface InstanceGroupSpec {
  readonly template: InstanceTemplate;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  /** A provider instance type, e.g. 'local.small' or 'sim.m5.large'; sets the price. */
  readonly instanceType: string;
  readonly healthCheck: HealthCheckSpec;
}

export type InstancePhase = 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed';

export interface InstanceStatus {
  readonly group: string;
  readonly phase: InstancePhase;
  readonly healthy: boolean;
  /** Host and port it serves on. */
  readonly address?: string;
  readonly pid?: number;
  readonly startedAt?: number;
  readonly readyAt?: number;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
}

export interface InstanceGroupStatus {
  readonly running: number;
  readonly healthy: number;
  readonly instances: readonly string[];
}

export type BalancerAlgorithm = 'round-robin' | 'least-connections';

export interface LoadBalancerSpec {
  /** host:port the balancer listens on; port 0 picks a free one. */
  readonly listen: string;
  /** The InstanceGroup it routes to. */
  readonly targetGroup: string;
  readonly algorithm: BalancerAlgorithm;
}

export interface LoadBalancerStatus {
  /** The address it actually listens on. */
  readonly address?: string;
  readonly targets: number;
  readonly healthyTargets: number;
}

export interface SecurityRuleSpec {
  /** The LoadBalancer (listener) this rule guards. */
  readonly loadBalancer: string;
  /** Client addresses allowed, in CIDR notation; a listener with rules admits only these. */
  readonly allow: readonly string[];
  /** Listener port the rule applies to; undefined: the balancer's port. */
  readonly port?: number;
}

export interface SpecByKind {
  InstanceGroup: InstanceGroupSpec;
  Instance: { readonly group: string };
  LoadBalancer: LoadBalancerSpec;
  SecurityRule: SecurityRuleSpec;
}

export interface StatusByKind {
  InstanceGroup: InstanceGroupStatus;
  Instance: InstanceStatus;
  LoadBalancer: LoadBalancerStatus;
  SecurityRule: Record<string, never>;
}

export interface Resource<K extends ResourceKind = ResourceKind> {
  readonly kind: K;
  readonly name: string;
  readonly spec: SpecByKind[K];
  readonly status?: StatusByKind[K];
  readonly tags: Readonly<Record<string, string>>;
  /** Price per hour in the provider's currency unit (USD for sim and local's nominal types). */
  readonly pricePerHour: number;
  /** The provider that owns it. */
  readonly provider: string;
}

/** The desired state a stack declares: resources without status. */
export type DesiredResource = Omit<Resource, 'status'>;
