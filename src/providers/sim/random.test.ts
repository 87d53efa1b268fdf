import { describe, expect, it } from 'vitest';
import { createRandom } from './random.js';

describe('seeded random', () => {
  it('repeats its sequence for the same seed, numeric or text, and differs for another', () => {
    const take = (seed: number | string) => {
      const r = createRandom(seed);
      return Array.from({ length: 8 }, () => r.next());
    };
    expect(take(42)).toEqual(take(42));
    expect(take('what-if')).toEqual(take('what-if'));
    expect(take(42)).not.toEqual(take(43));
  });

  it('stays within its ranges', () => {
    const r = createRandom(1);
    for (let i = 0; i < 10_000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      const n = r.int(7);
      expect(Number.isInteger(n) && n >= 0 && n < 7).toBe(true);
      expect(r.exponential(2)).toBeGreaterThanOrEqual(0);
    }
  });

  it('forks streams that depend on the label, not on how far the parent has run', () => {
    const a = createRandom(9);
    const b = createRandom(9);
    b.next();
    b.next();
    expect(a.fork('boot').next()).toBe(b.fork('boot').next());
    expect(a.fork('boot').next()).not.toBe(a.fork('faults').next());
  });

  it('has a mean near 1/rate for exponential draws', () => {
    const r = createRandom('exp');
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += r.exponential(4);
    expect(sum / 20_000).toBeGreaterThan(0.24);
    expect(sum / 20_000).toBeLessThan(0.26);
  });
});
