/**
 * @module Provider: owns real (or simulated) resources, applies changes to them and reports what
 * it observes. `local` (OS processes + a built-in load balancer) and `sim` (a simulated cloud)
 * implement it; `kubernetes` and `aws` can be added without touching the engine.
 *
 * Contract:
 * - `observe` returns every resource the provider owns now, with `status`. It is cheap (served from
 *   the provider's own view) and may be called often by the reconciler.
 * - `apply` performs one change and resolves when the provider has accepted it (not necessarily
 *   finished: an instance may still be starting). Changes are idempotent by resource name:
 *   creating an existing resource with the same spec, or deleting a missing one, does nothing.
 * - Everything the provider observes changing is reported through `events` as provider events
 *   (see {@link ProviderEvent}) in the order observed; the engine turns them into CloudEvents on
 *   the log. A change Homeostat asked for carries its `cause` (the change id) back.
 * - Out-of-band changes (`set`, standing in for a console click or the provider's own API) are
 *   applied and reported like any other observed change, without a cause.
 * - `start` re-adopts what still runs from a previous process (no duplicates); `close` leaves
 *   resources running unless `stopAll` is set.
 * - Errors: HomeostatError E_INVALID for a bad spec (pointers relative to the resource),
 *   E_BACKEND for a provider failure (retryable).
 */
import type { DesiredResource, Resource, ResourceKind } from '../core/infra/types.js';

export type ProviderChange =
  | { readonly op: 'create' | 'update'; readonly resource: DesiredResource; readonly cause?: string }
  | { readonly op: 'delete'; readonly kind: ResourceKind; readonly name: string; readonly cause?: string }
  /** Instance-level operations the reconciler and actions use. */
  | { readonly op: 'start-instance'; readonly group: string; readonly cause?: string }
  | { readonly op: 'stop-instance'; readonly name: string; readonly drain: boolean; readonly cause?: string }
  | { readonly op: 'restart-instance'; readonly name: string; readonly cause?: string };

/** What a provider reports; `type` is the CloudEvent type without the `infra.` prefix. */
export interface ProviderEvent {
  /** e.g. 'instance.started', 'instance.ready', 'instance.unhealthy', 'instance.healthy',
   * 'instance.stopped', 'instance.crashed', 'group.scaled', 'resource.changed', 'metrics'. */
  readonly type: string;
  /** The resource ref, e.g. 'instance/web-3' or 'instancegroup/web'. */
  readonly subject: string;
  readonly time: number;
  readonly data: Readonly<Record<string, unknown>>;
  /** The change id that caused it, when Homeostat asked for the change. */
  readonly cause?: string;
}

export interface ProviderMetrics {
  readonly group: string;
  readonly rps: number;
  readonly inFlight: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly errorRate: number;
  readonly instances: number;
  readonly cpu: { readonly avg: number; readonly perInstance: Readonly<Record<string, number>> };
  readonly memoryMiB: { readonly avg: number; readonly perInstance: Readonly<Record<string, number>> };
}

export interface Provider {
  readonly name: string;
  readonly kinds: readonly ResourceKind[];
  /** Instance types it offers, with their hourly prices. */
  readonly instanceTypes: Readonly<Record<string, { readonly pricePerHour: number }>>;
  start(events: (event: ProviderEvent) => void): Promise<void>;
  observe(): Promise<Resource[]>;
  apply(change: ProviderChange): Promise<void>;
  /** An out-of-band change to a resource's spec (merge patch), reported without a cause. */
  set(kind: ResourceKind, name: string, patch: Readonly<Record<string, unknown>>): Promise<void>;
  close(options?: { readonly stopAll?: boolean }): Promise<void>;
}
