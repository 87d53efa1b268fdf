/** @module The recommendation history behind the stabilization windows (HPA `behavior.*.stabilizationWindowSeconds`). */
import type { Recommendation } from './types.js';

/** Most recommendations kept; older ones are dropped first (a 1 h window at 1 event per 0.4 s). */
export const MAX_RECOMMENDATIONS = 10_000;

/**
 * Adds `desired` at `now` and drops what no window can see any more (older than `keepMs`).
 * A run of equal values keeps only its newest entry: it stays in every window at least as long as
 * the older ones would, so the lowest and highest in any window are unchanged.
 */
export function pushRecommendation(
  history: readonly Recommendation[],
  desired: number,
  now: number,
  keepMs: number,
): Recommendation[] {
  const cutoff = now - keepMs;
  let start = 0;
  while (start < history.length && history[start]!.at < cutoff) start++;
  const kept = history.slice(start);
  if (kept.length > 0 && kept[kept.length - 1]!.desired === desired) kept.pop();
  kept.push({ at: now, desired });
  return kept.length > MAX_RECOMMENDATIONS ? kept.slice(kept.length - MAX_RECOMMENDATIONS) : kept;
}

/** The lowest and the highest recommendation within each window ending at `now` (the history includes the newest). */
export function windowExtremes(
  history: readonly Recommendation[],
  now: number,
  scaleOutWindowMs: number,
  scaleInWindowMs: number,
): { readonly lowest: number; readonly highest: number } {
  let lowest = Infinity;
  let highest = -Infinity;
  for (const r of history) {
    if (r.at >= now - scaleOutWindowMs) lowest = Math.min(lowest, r.desired);
    if (r.at >= now - scaleInWindowMs) highest = Math.max(highest, r.desired);
  }
  return { lowest, highest };
}

/**
 * HPA's stabilization: scale out only as far as the lowest recommendation of the scale-out window,
 * scale in only as far as the highest of the scale-in window; between the two, stay at `current`.
 */
export function stabilize(current: number, lowest: number, highest: number): number {
  let result = current;
  if (result < lowest) result = lowest;
  if (result > highest) result = highest;
  return result;
}
