/** @module A simulated instance and a group of them, as the fleet keeps them. */
import type { HealthCheckSpec, InstancePhase } from '../../core/infra/types.js';
import type { Timer } from './clock.js';
import type { SimInstanceType } from './catalog.js';

/** One simulated instance (mutable: the fleet owns it; others read it). */
export interface SimInstance {
  readonly name: string;
  readonly group: string;
  /** Its group (kept when the group is deleted while the instance drains). */
  readonly home: FleetGroup;
  readonly zone: string;
  readonly type: SimInstanceType;
  readonly address: string;
  phase: InstancePhase;
  /** As the balancer's health checks see it. */
  healthy: boolean;
  /** The process stopped answering (a hang fault). */
  hung: boolean;
  startedAt: number;
  readyAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** The change id that launched it; carried by its `started` and first `ready` events. */
  cause?: string;
  /** Health checks run at anchor + k * interval (the anchor is the end of the boot). */
  anchor: number;
  /** The last check before a pending `unhealthy` mark. */
  unhealthyCheck?: number;
  timer?: Timer;
  healthTimer?: Timer;
  hangTimer?: Timer;
  readonly faultTimers: Timer[];
}

/** A group as the fleet sees it. */
export interface FleetGroup {
  readonly name: string;
  type: SimInstanceType;
  healthCheck: HealthCheckSpec;
  /** Starting, running and stopping instances, in launch order. */
  readonly live: Set<SimInstance>;
  readonly perZone: Map<string, number>;
  next: number;
  /** Grows whenever one of its instances changes phase, health or reachability (for caches). */
  version: number;
}

/** Starting, running or stopping. */
export function isLive(inst: SimInstance): boolean {
  return inst.phase === 'starting' || inst.phase === 'running' || inst.phase === 'stopping';
}

/** The instance's resource ref, its events' subject. */
export function ref(inst: SimInstance): string {
  return `instance/${inst.name}`;
}
