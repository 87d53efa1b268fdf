import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limiter.js';

describe('createRateLimiter', () => {
  it('lets a full burst through at once, then says how long to wait', () => {
    const rl = createRateLimiter({ perSecond: 10, burst: 3 });
    expect([rl.tryTake(0), rl.tryTake(0), rl.tryTake(0)]).toEqual([0, 0, 0]);
    expect(rl.tryTake(0)).toBe(100);
  });

  it('refills at perSecond', () => {
    const rl = createRateLimiter({ perSecond: 10, burst: 1 });
    expect(rl.tryTake(0)).toBe(0);
    expect(rl.tryTake(40)).toBe(60);
    expect(rl.tryTake(100)).toBe(0);
    expect(rl.tryTake(100)).toBe(100);
  });

  it('sustains exactly perSecond over a long run', () => {
    const rl = createRateLimiter({ perSecond: 50, burst: 1 });
    let taken = 0;
    for (let t = 0; t < 10_000; t++) if (rl.tryTake(t) === 0) taken++;
    expect(taken).toBe(500);
  });

  it('never holds more than burst tokens after a long pause', () => {
    const rl = createRateLimiter({ perSecond: 100, burst: 2 });
    rl.tryTake(0);
    expect([rl.tryTake(1e9), rl.tryTake(1e9)]).toEqual([0, 0]);
    expect(rl.tryTake(1e9)).toBeGreaterThan(0);
  });

  it('refills nothing when time goes backwards', () => {
    const rl = createRateLimiter({ perSecond: 1, burst: 1 });
    expect(rl.tryTake(10_000)).toBe(0);
    expect(rl.tryTake(5_000)).toBeGreaterThan(0);
    expect(rl.tryTake(10_500)).toBe(500);
  });

  it('waits at least 1 ms when a token is almost there', () => {
    const rl = createRateLimiter({ perSecond: 1000, burst: 1 });
    rl.tryTake(0);
    expect(rl.tryTake(0)).toBe(1);
  });

  it('rejects a non-positive rate with E_INVALID', () => {
    expect(() => createRateLimiter({ perSecond: 0, burst: 1 })).toThrow(/perSecond > 0/);
  });
});
