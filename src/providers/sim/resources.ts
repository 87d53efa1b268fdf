/** @module Builders for the resources of a sim scenario (what-if runs, tests), with sim defaults. */
import type { DesiredResource, HealthCheckSpec } from '../../core/infra/types.js';
import { DEFAULT_HEALTH_CHECK } from './health.js';

export interface SimGroupInput {
  readonly desired: number;
  /** Default 0. */
  readonly min?: number;
  /** Default max(desired, 10). */
  readonly max?: number;
  /** Default 'sim.medium'. */
  readonly instanceType?: string;
  readonly healthCheck?: Partial<HealthCheckSpec>;
  readonly tags?: Readonly<Record<string, string>>;
}

/** An InstanceGroup for the sim provider (the template is unused by the sim; it names the service). */
export function simGroup(name: string, input: SimGroupInput): DesiredResource {
  return {
    kind: 'InstanceGroup',
    name,
    spec: {
      template: { command: name, args: [], env: {}, port: 0 },
      desired: input.desired,
      min: input.min ?? 0,
      max: input.max ?? Math.max(input.desired, 10),
      instanceType: input.instanceType ?? 'sim.medium',
      healthCheck: { ...DEFAULT_HEALTH_CHECK, ...input.healthCheck },
    },
    tags: input.tags ?? {},
    pricePerHour: 0,
    provider: 'sim',
  };
}

/** A LoadBalancer routing to `targetGroup`. */
export function simBalancer(name: string, targetGroup: string, listen = '0.0.0.0:0'): DesiredResource {
  return {
    kind: 'LoadBalancer',
    name,
    spec: { listen, targetGroup, algorithm: 'round-robin' },
    tags: {},
    pricePerHour: 0,
    provider: 'sim',
  };
}

/** A SecurityRule admitting `allow` to `loadBalancer`. */
export function simSecurityRule(name: string, loadBalancer: string, allow: readonly string[]): DesiredResource {
  return { kind: 'SecurityRule', name, spec: { loadBalancer, allow }, tags: {}, pricePerHour: 0, provider: 'sim' };
}
