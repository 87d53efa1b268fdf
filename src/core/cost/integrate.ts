/** @module Cost arithmetic: rate of running instances, cost over a window, rollups by group, stack or tag. Pure. */
import { type CostDimension, type CostInterval, type CostRow, type CostScope, MS_PER_HOUR, NONE_KEY } from './types.js';

/** Cost of one interval inside [from, to): price × overlapping hours (0 when they do not overlap). */
export function intervalCost(interval: CostInterval, from: number, to: number): number {
  const start = Math.max(interval.start, from);
  const end = Math.min(interval.end ?? to, to);
  return end > start ? (interval.pricePerHour * (end - start)) / MS_PER_HOUR : 0;
}

/** True when the interval's instance is running at `at` (start inclusive, end exclusive). */
export function runningAt(interval: CostInterval, at: number): boolean {
  return interval.start <= at && (interval.end === undefined || interval.end > at);
}

/** Sum of interval costs inside [from, to). */
export function costBetween(intervals: Iterable<CostInterval>, from: number, to: number): number {
  let sum = 0;
  for (const i of intervals) sum += intervalCost(i, from, to);
  return sum;
}

/** Cost rate (per hour) at `at`: the prices of the instances running then. */
export function rateAt(intervals: Iterable<CostInterval>, at: number): number {
  let sum = 0;
  for (const i of intervals) if (runningAt(i, at)) sum += i.pricePerHour;
  return sum;
}

/** True when the interval falls inside the scope. */
export function inScope(interval: CostInterval, scope: CostScope | undefined): boolean {
  if (scope === undefined) return true;
  if (scope.stack !== undefined && interval.stack !== scope.stack) return false;
  if (scope.group !== undefined && interval.group !== scope.group) return false;
  for (const [k, v] of Object.entries(scope.tags ?? {})) if (interval.tags[k] !== v) return false;
  return true;
}

/**
 * The rollup keys an interval counts under: its group, its stack (or `(none)`), or for tags one
 * key per `key=value` pair (an instance with two tags counts in both rows), or with `tagKey` the
 * value of that tag (`(none)` when missing).
 */
export function keysOf(interval: CostInterval, by: CostDimension, tagKey?: string): string[] {
  if (by === 'group') return [interval.group];
  if (by === 'stack') return [interval.stack ?? NONE_KEY];
  if (tagKey !== undefined) return [interval.tags[tagKey] ?? NONE_KEY];
  const pairs = Object.entries(interval.tags).map(([k, v]) => `${k}=${v}`);
  return pairs.length > 0 ? pairs : [NONE_KEY];
}

export interface RollupQuery {
  readonly by: CostDimension;
  /** With `by: 'tag'`: roll up by the values of this one tag key. */
  readonly tagKey?: string;
  readonly from: number;
  readonly to: number;
  /** The rate and instance counts are taken at this time (usually `to`). */
  readonly now: number;
}

/** Rows sorted by cost (then rate) descending, then key. Intervals outside the window and not running are left out. */
export function rollup(intervals: Iterable<CostInterval>, q: RollupQuery): CostRow[] {
  const rows = new Map<string, { ratePerHour: number; instances: number; cost: number }>();
  for (const i of intervals) {
    const cost = intervalCost(i, q.from, q.to);
    const running = runningAt(i, q.now);
    if (cost === 0 && !running) continue;
    for (const key of keysOf(i, q.by, q.tagKey)) {
      const row = rows.get(key) ?? { ratePerHour: 0, instances: 0, cost: 0 };
      row.cost += cost;
      if (running) {
        row.ratePerHour += i.pricePerHour;
        row.instances += 1;
      }
      rows.set(key, row);
    }
  }
  return [...rows]
    .map(([key, r]) => ({ key, ...r }))
    .sort((a, b) => b.cost - a.cost || b.ratePerHour - a.ratePerHour || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Rounds money for display and JSON: 6 decimals keeps fractions of a cent per hour exact enough. */
export function roundMoney(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
