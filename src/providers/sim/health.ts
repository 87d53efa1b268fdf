/**
 * @module Health-check timing. Checks are not simulated one by one: an instance is probed every
 * `intervalMs` from an anchor (the end of its boot), and only a change in whether it answers needs
 * a timer, computed here. This keeps 10,000 instances cheap.
 */
import type { HealthCheckSpec } from '../../core/infra/types.js';

/** The defaults of {@link HealthCheckSpec}. */
export const DEFAULT_HEALTH_CHECK: HealthCheckSpec = Object.freeze({
  path: '/healthz',
  intervalMs: 1_000,
  timeoutMs: 500,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
});

/** The first check at or after `t`; checks run at anchor + k * interval, k >= 0. */
export function nextCheck(anchor: number, intervalMs: number, t: number): number {
  if (t <= anchor) return anchor;
  return anchor + Math.ceil((t - anchor) / intervalMs) * intervalMs;
}

/**
 * For an instance that stops answering at `t`: the check that will be its last failure before it
 * is marked unhealthy (`lastCheck`), and when that is concluded (`at`: the check's timeout).
 */
export function unhealthyTiming(
  anchor: number,
  check: HealthCheckSpec,
  t: number,
): { readonly lastCheck: number; readonly at: number } {
  const lastCheck = nextCheck(anchor, check.intervalMs, t) + (check.unhealthyThreshold - 1) * check.intervalMs;
  return { lastCheck, at: lastCheck + check.timeoutMs };
}

/** For an instance that answers from `t` on: when it has passed `healthyThreshold` checks in a row. */
export function healthyAt(anchor: number, check: HealthCheckSpec, t: number): number {
  return nextCheck(anchor, check.intervalMs, t) + (check.healthyThreshold - 1) * check.intervalMs;
}
