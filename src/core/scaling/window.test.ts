import { describe, expect, it } from 'vitest';
import { MAX_RECOMMENDATIONS, pushRecommendation, stabilize, windowExtremes } from './window.js';

describe('recommendation window', () => {
  it('merges equal neighbours and drops what no window sees', () => {
    let h = pushRecommendation([], 3, 0, 100);
    h = pushRecommendation(h, 3, 10, 100);
    expect(h).toEqual([{ at: 10, desired: 3 }]);
    h = pushRecommendation(h, 5, 20, 100);
    h = pushRecommendation(h, 4, 150, 100);
    expect(h).toEqual([{ at: 150, desired: 4 }]);
  });

  it('keeps at most MAX_RECOMMENDATIONS', () => {
    let h: ReturnType<typeof pushRecommendation> = [];
    for (let i = 0; i <= MAX_RECOMMENDATIONS; i++) h = pushRecommendation(h, i % 2, i, Infinity);
    expect(h).toHaveLength(MAX_RECOMMENDATIONS);
    expect(h[0]!.at).toBe(1);
  });

  it('finds the lowest and highest in each window and stabilizes like the HPA', () => {
    const h = [
      { at: 0, desired: 9 },
      { at: 50, desired: 2 },
      { at: 90, desired: 5 },
    ];
    expect(windowExtremes(h, 100, 20, 100)).toEqual({ lowest: 5, highest: 9 });
    expect(windowExtremes(h, 100, 60, 60)).toEqual({ lowest: 2, highest: 5 });
    expect(stabilize(4, 5, 9)).toBe(5);
    expect(stabilize(7, 5, 9)).toBe(7);
    expect(stabilize(10, 5, 9)).toBe(9);
  });
});
