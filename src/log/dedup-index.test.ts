import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDedupIndex, hashKey, type VerifyKey } from './dedup-index.js';

/** A stand-in for the log: what was stored at each offset. */
function store(): { keys: Map<number, string>; verify: VerifyKey } {
  const keys = new Map<number, string>();
  return { keys, verify: (offset, source, id) => keys.get(offset) === `${source}\u0000${id}` };
}

describe('DedupIndex', () => {
  it('finds a key appended inside the window and forgets it after', () => {
    const s = store();
    const idx = createDedupIndex({ windowMs: 60_000, maxKeys: 100 });
    expect(idx.claim('/s', 'a', 1, 0, s.verify)).toBeUndefined();
    s.keys.set(1, '/s\u0000a');
    expect(idx.claim('/s', 'a', 2, 30_000, s.verify)).toBe(1);
    expect(idx.claim('/s', 'a', 2, 61_000, s.verify)).toBeUndefined();
  });

  it('never reports a duplicate the store does not confirm (hash collisions are harmless)', () => {
    const idx = createDedupIndex({ windowMs: 60_000, maxKeys: 100 });
    const never: VerifyKey = () => false;
    expect(idx.claim('/s', 'a', 1, 0, never)).toBeUndefined();
    expect(idx.claim('/s', 'a', 2, 0, never)).toBeUndefined();
  });

  it('keeps keys of a busy stream expiring although appends never pause', () => {
    const s = store();
    const idx = createDedupIndex({ windowMs: 10_000, maxKeys: 1_000_000 });
    for (let t = 0, off = 1; t < 60_000; t += 10, off++) {
      idx.claim('/s', `k${off}`, off, t, s.verify);
      s.keys.set(off, `/s\u0000k${off}`);
    }
    expect(idx.claim('/s', 'k1', 9_999, 60_000, s.verify)).toBeUndefined();
    expect(idx.claim('/s', 'k5990', 9_999, 60_000, s.verify)).toBe(5990);
    idx.expire(60_000);
    const { keys, oldestAt } = idx.stats();
    expect(keys).toBeLessThanOrEqual(1_200);
    expect(oldestAt).toBeGreaterThanOrEqual(49_000);
  });

  it('forgets the oldest keys first beyond maxKeys and counts them', () => {
    const s = store();
    const idx = createDedupIndex({ windowMs: 3_600_000, maxKeys: 5_000 });
    for (let off = 1; off <= 20_000; off++) {
      idx.claim('/s', `k${off}`, off, off, s.verify);
      s.keys.set(off, `/s\u0000k${off}`);
    }
    expect(idx.claim('/s', 'k1', 20_001, 20_000, s.verify)).toBeUndefined();
    expect(idx.claim('/s', 'k19999', 20_002, 20_000, s.verify)).toBe(19_999);
    const stats = idx.stats();
    expect(stats.keys).toBeLessThanOrEqual(10_001);
    expect(stats.evictedEarly).toBeGreaterThan(0);
  });

  it('hashes to 53-bit non-zero integers and separates source from id', () => {
    for (const [s, i] of [
      ['/a', 'b'],
      ['', ''],
      ['/ab', 'c'],
    ] as const) {
      const h = hashKey(s, i);
      expect(Number.isSafeInteger(h) && h > 0).toBe(true);
    }
    expect(hashKey('/ab', 'c')).not.toBe(hashKey('/a', 'bc'));
  });

  it('agrees with a brute-force model on random streams of keys, times and restarts', () => {
    const op = fc.record({ key: fc.integer({ min: 0, max: 40 }), dt: fc.integer({ min: 0, max: 4_000 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 1_000, max: 20_000 }), (ops, windowMs) => {
        const s = store();
        const idx = createDedupIndex({ windowMs, maxKeys: 1_000_000 });
        const model = new Map<string, { offset: number; at: number }>();
        let now = 0;
        let next = 1;
        for (const { key, dt } of ops) {
          now += dt;
          const id = `k${key}`;
          const seen = model.get(id);
          // Checkpoints round append times up to a second: keys may live up to 1 s longer.
          const expected = seen !== undefined && seen.at >= now - windowMs ? seen.offset : undefined;
          const got = idx.claim('/s', id, next, now, s.verify);
          if (seen !== undefined && seen.at < now - windowMs - 1_000) expect(got).toBeUndefined();
          else if (expected !== undefined) expect(got).toBe(expected);
          if (got === undefined) {
            model.set(id, { offset: next, at: now });
            s.keys.set(next, `/s\u0000${id}`);
            next++;
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
