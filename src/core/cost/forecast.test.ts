import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forecastCost, periodBounds } from './forecast.js';

const H = 3_600_000;

describe('periodBounds', () => {
  it('gives the UTC calendar month, day and Monday-based week around a time', () => {
    const at = Date.UTC(2026, 1, 18, 15, 30); // Wednesday 18 February 2026
    expect(periodBounds('month', at)).toEqual({ start: Date.UTC(2026, 1, 1), end: Date.UTC(2026, 2, 1) });
    expect(periodBounds('day', at)).toEqual({ start: Date.UTC(2026, 1, 18), end: Date.UTC(2026, 1, 19) });
    expect(periodBounds('week', at)).toEqual({ start: Date.UTC(2026, 1, 16), end: Date.UTC(2026, 1, 23) });
  });

  it('rolls December over into the next year and treats Sunday as the end of the week', () => {
    expect(periodBounds('month', Date.UTC(2026, 11, 31, 23))).toEqual({
      start: Date.UTC(2026, 11, 1),
      end: Date.UTC(2027, 0, 1),
    });
    expect(periodBounds('week', Date.UTC(2026, 1, 22, 23)).start).toBe(Date.UTC(2026, 1, 16));
  });

  it('always contains the time it was asked about', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.constantFrom('day', 'week', 'month' as const),
        (t, p) => {
          const { start, end } = periodBounds(p, t);
          expect(start).toBeLessThanOrEqual(t);
          expect(end).toBeGreaterThan(t);
        },
      ),
    );
  });
});

describe('forecastCost', () => {
  it('adds the current rate over the hours left to what was spent', () => {
    expect(forecastCost(10, 2, 0, 5 * H)).toBeCloseTo(20);
  });

  it('is what was spent once the period is over', () => {
    expect(forecastCost(10, 2, 6 * H, 5 * H)).toBe(10);
  });

  it('equals the final cost when the rate does not change (linear extrapolation is exact)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 720 }),
        fc.integer({ min: 0, max: 720 }),
        (cents, hours, elapsed) => {
          const rate = cents / 100;
          const now = Math.min(elapsed, hours) * H;
          const spentSoFar = (rate * now) / H;
          expect(forecastCost(spentSoFar, rate, now, hours * H)).toBeCloseTo(rate * hours, 6);
        },
      ),
    );
  });
});
