/** @module Budget periods on UTC calendar boundaries and the linear forecast to a period's end. Pure. */
import { type CostPeriod, MS_PER_HOUR } from './types.js';

const DAY_MS = 86_400_000;

/** The period containing `at`: [start, end) in ms since the epoch (UTC; weeks start on Monday). */
export function periodBounds(period: CostPeriod, at: number): { readonly start: number; readonly end: number } {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = Date.UTC(y, m, d.getUTCDate());
  if (period === 'day') return { start: day, end: day + DAY_MS };
  if (period === 'week') {
    const sinceMonday = (d.getUTCDay() + 6) % 7;
    const start = day - sinceMonday * DAY_MS;
    return { start, end: start + 7 * DAY_MS };
  }
  return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
}

/**
 * Cost at the end of the period if the current rate holds: what was spent so far plus the rate
 * times the hours left. After the end, the forecast is what was spent.
 */
export function forecastCost(spent: number, ratePerHour: number, now: number, periodEnd: number): number {
  return spent + (ratePerHour * Math.max(0, periodEnd - now)) / MS_PER_HOUR;
}
