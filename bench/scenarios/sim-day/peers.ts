/**
 * @module Peer models computed beside the engine in the same run, from the same demand curves and
 * the same failure times the sim injected: what a group would get from the Kubernetes HPA with its
 * defaults, and from AWS target tracking. Simple, stated models (not the real controllers):
 *
 * - HPA: decides every 15 s (`--horizontal-pod-autoscaler-sync-period`) on a metric 60 s old
 *   (metrics-server scrape and window), `desired = ceil(current × metric / target)` with tolerance
 *   0.1, scale-up at most max(100 %, 4 pods) per decision, scale-down to the highest
 *   recommendation of the last 300 s (stabilization window). A failed pod is replaced after 30 s
 *   (probe detection) plus the boot time.
 * - AWS target tracking: 1-minute datapoints available 1 minute late; scale out when the last 3
 *   are above target, scale in when the last 15 are below 90 % of it, scale-in cooldown 300 s. A
 *   failed instance is replaced after 60 s (load balancer health checks) plus the boot time.
 *
 * Both see the metric as the demand per serving (booted, not failed) instance, without noise.
 */

export interface PeerGroup {
  readonly demandAt: (t: number) => number;
  readonly targetRps: number;
  readonly min: number;
  readonly max: number;
  readonly initial: number;
  readonly bootMs: number;
  /** Failure times, ms since the start, ascending. */
  readonly failures: readonly number[];
}

/** Serving and paid-for instances of a peer at a time. */
export interface PeerState {
  readonly serving: number;
  readonly instances: number;
}

export type PeerKind = 'hpa' | 'aws';

const TICK_MS = 5_000;

interface Fleet {
  /** readyAt of each live instance (ms since start). */
  readyAt: number[];
}

const servingAt = (f: Fleet, t: number) => f.readyAt.filter((r) => r <= t).length;

function resize(f: Fleet, desired: number, t: number, bootMs: number): void {
  while (f.readyAt.length < desired) f.readyAt.push(t + bootMs);
  if (f.readyAt.length > desired) {
    // Not yet ready ones first, then the newest.
    f.readyAt.sort((a, b) => a - b);
    f.readyAt.length = desired;
  }
}

/** Runs a peer model over [0, endMs]; `at(t)` gives its state at any time in it. */
export function runPeer(kind: PeerKind, g: PeerGroup, endMs: number): (t: number) => PeerState {
  const fleet: Fleet = { readyAt: Array.from({ length: g.initial }, () => 0) };
  const states: PeerState[] = [];
  const metric: number[] = [];
  const recs: { t: number; n: number }[] = [];
  let failureIdx = 0;
  let lastScaleIn = -Infinity;
  const detectMs = kind === 'hpa' ? 30_000 : 60_000;
  for (let t = 0, i = 0; t <= endMs; t += TICK_MS, i++) {
    while (failureIdx < g.failures.length && g.failures[failureIdx]! <= t) {
      // The failed instance stops serving at once; its replacement serves after detection + boot.
      const ready = fleet.readyAt.findIndex((r) => r <= t);
      if (ready >= 0) fleet.readyAt[ready] = g.failures[failureIdx]! + detectMs + g.bootMs;
      failureIdx++;
    }
    const serving = servingAt(fleet, t);
    metric.push(g.demandAt(t) / Math.max(1, serving));
    if (kind === 'hpa' && t % 15_000 === 0) hpaDecide(g, fleet, metric, i, t, recs);
    if (kind === 'aws' && t % 60_000 === 0) {
      const n = awsDecide(g, fleet, metric, i, t, lastScaleIn);
      if (n === 'in') lastScaleIn = t;
    }
    states.push({ serving: servingAt(fleet, t), instances: fleet.readyAt.length });
  }
  return (t) => states[Math.min(states.length - 1, Math.max(0, Math.floor(t / TICK_MS)))]!;
}

const clamp = (g: PeerGroup, n: number) => Math.min(g.max, Math.max(g.min, n));

function hpaDecide(
  g: PeerGroup,
  fleet: Fleet,
  metric: readonly number[],
  i: number,
  t: number,
  recs: { t: number; n: number }[],
): void {
  const old = metric[Math.max(0, i - 60_000 / TICK_MS)]!;
  const current = fleet.readyAt.length;
  const ratio = old / g.targetRps;
  let desired = Math.abs(ratio - 1) <= 0.1 ? current : Math.ceil(current * ratio);
  desired = clamp(g, Math.min(desired, Math.max(current * 2, current + 4)));
  recs.push({ t, n: desired });
  while (recs.length > 0 && recs[0]!.t < t - 300_000) recs.shift();
  if (desired < current) desired = Math.min(current, Math.max(...recs.map((r) => r.n)));
  resize(fleet, desired, t, g.bootMs);
}

function awsDecide(
  g: PeerGroup,
  fleet: Fleet,
  metric: readonly number[],
  i: number,
  t: number,
  lastScaleIn: number,
): 'out' | 'in' | undefined {
  const perMin = 60_000 / TICK_MS;
  // Minute datapoints, the newest one a minute old: the average of the ticks of each minute.
  const points: number[] = [];
  for (let k = 1; k <= 15; k++) {
    const end = i - perMin * k;
    if (end - perMin < 0) break;
    let sum = 0;
    for (let j = end - perMin + 1; j <= end; j++) sum += metric[j]!;
    points.push(sum / perMin);
  }
  const current = fleet.readyAt.length;
  const last = points[0];
  if (last === undefined) return undefined;
  if (points.length >= 3 && points.slice(0, 3).every((p) => p > g.targetRps)) {
    const desired = clamp(g, Math.ceil(current * (last / g.targetRps)));
    if (desired > current) {
      resize(fleet, desired, t, g.bootMs);
      return 'out';
    }
  }
  if (points.length >= 15 && points.every((p) => p < 0.9 * g.targetRps) && t - lastScaleIn >= 300_000) {
    const desired = clamp(g, Math.ceil(current * (last / g.targetRps)));
    if (desired < current) {
      resize(fleet, desired, t, g.bootMs);
      return 'in';
    }
  }
  return undefined;
}
