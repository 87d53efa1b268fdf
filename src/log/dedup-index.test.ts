import { describe, expect, it } from 'vitest';
import { createDedupIndex } from './dedup-index.js';

describe('DedupIndex', () => {
  it('finds a key appended inside the window and forgets it after', () => {
    const idx = createDedupIndex({ windowMs: 60_000, maxKeys: 100 });
    idx.add('/s', 'a', 1, 0);
    expect(idx.lookup('/s', 'a', 30_000)).toBe(1);
    expect(idx.lookup('/s', 'b', 30_000)).toBeUndefined();
    expect(idx.lookup('/s', 'a', 61_000)).toBeUndefined();
    idx.expire(61_000);
    expect(idx.stats().keys).toBe(0);
  });

  it('keeps keys of a busy stream expiring although appends never pause', () => {
    const idx = createDedupIndex({ windowMs: 10_000, maxKeys: 1_000_000 });
    for (let t = 0, off = 1; t < 60_000; t += 10, off++) idx.add('/s', `k${off}`, off, t);
    expect(idx.lookup('/s', 'k1', 60_000)).toBeUndefined();
    expect(idx.lookup('/s', 'k5990', 60_000)).toBe(5990);
    idx.expire(60_000);
    const { keys, oldestAt } = idx.stats();
    expect(keys).toBeLessThanOrEqual(1_200);
    expect(oldestAt).toBeGreaterThanOrEqual(49_000);
  });

  it('a re-added key after expiry gets its new offset', () => {
    const idx = createDedupIndex({ windowMs: 1_000, maxKeys: 10 });
    idx.add('/s', 'a', 1, 0);
    idx.add('/s', 'b', 2, 5_000);
    expect(idx.lookup('/s', 'a', 5_000)).toBeUndefined();
    idx.add('/s', 'a', 3, 5_000);
    expect(idx.lookup('/s', 'a', 5_500)).toBe(3);
  });

  it('forgets the oldest keys first beyond maxKeys and counts them', () => {
    const idx = createDedupIndex({ windowMs: 60_000, maxKeys: 3 });
    for (let i = 1; i <= 5; i++) idx.add('/s', `k${i}`, i, i);
    expect(idx.lookup('/s', 'k1', 10)).toBeUndefined();
    expect(idx.lookup('/s', 'k2', 10)).toBeUndefined();
    expect(idx.lookup('/s', 'k5', 10)).toBe(5);
    expect(idx.stats()).toMatchObject({ keys: 3, evictedEarly: 2 });
  });

  it('does not confuse keys whose source and id concatenate alike', () => {
    const idx = createDedupIndex({ windowMs: 60_000, maxKeys: 10 });
    idx.add('/ab', 'c', 1, 0);
    expect(idx.lookup('/a', 'bc', 0)).toBeUndefined();
  });
});
