import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costBetween, inScope, intervalCost, keysOf, rateAt, rollup } from './integrate.js';
import type { CostInterval } from './types.js';

const H = 3_600_000;

const iv = (over: Partial<CostInterval> = {}): CostInterval => ({
  instance: 'web-1',
  group: 'web',
  stack: 'shop',
  tags: { team: 'web' },
  provider: 'sim',
  instanceType: 'sim.small',
  pricePerHour: 0.5,
  start: 0,
  ...over,
});

describe('intervalCost', () => {
  it('charges price times the hours that overlap the window', () => {
    expect(intervalCost(iv({ start: 0, end: 2 * H }), 0, 10 * H)).toBeCloseTo(1);
    expect(intervalCost(iv({ start: 0, end: 2 * H }), H, 10 * H)).toBeCloseTo(0.5);
    expect(intervalCost(iv({ start: 3 * H, end: 4 * H }), 0, 2 * H)).toBe(0);
  });

  it('charges a running instance up to the end of the window', () => {
    expect(intervalCost(iv({ start: H }), 0, 3 * H)).toBeCloseTo(1);
  });
});

describe('rateAt', () => {
  it('sums the prices of instances running at that time, end excluded', () => {
    const all = [iv({ start: 0, end: H }), iv({ instance: 'web-2', start: 0, pricePerHour: 0.25 })];
    expect(rateAt(all, H / 2)).toBeCloseTo(0.75);
    expect(rateAt(all, H)).toBeCloseTo(0.25);
  });
});

describe('scope and keys', () => {
  it('matches every given field of the scope', () => {
    expect(inScope(iv(), { stack: 'shop', tags: { team: 'web' } })).toBe(true);
    expect(inScope(iv(), { group: 'api' })).toBe(false);
    expect(inScope(iv(), { tags: { team: 'data' } })).toBe(false);
    expect(inScope(iv(), undefined)).toBe(true);
  });

  it('rolls a stack-less group under (none) and tags under key=value pairs', () => {
    const { stack: _s, ...bare } = iv();
    expect(keysOf(bare, 'stack')).toEqual(['(none)']);
    expect(keysOf(iv({ tags: { team: 'web', env: 'prod' } }), 'tag')).toEqual(['team=web', 'env=prod']);
    expect(keysOf(iv(), 'tag', 'env')).toEqual(['(none)']);
    expect(keysOf(iv({ tags: {} }), 'tag')).toEqual(['(none)']);
  });
});

describe('rollup', () => {
  it('gives each key its cost in the window and its rate now', () => {
    const all = [
      iv({ instance: 'web-1', start: 0, end: 2 * H }),
      iv({ instance: 'web-2', start: H }),
      iv({ instance: 'api-1', group: 'api', start: 0, pricePerHour: 2 }),
    ];
    const rows = rollup(all, { by: 'group', from: 0, to: 4 * H, now: 4 * H });
    expect(rows).toEqual([
      { key: 'api', cost: 8, ratePerHour: 2, instances: 1 },
      { key: 'web', cost: 2.5, ratePerHour: 0.5, instances: 1 },
    ]);
  });

  it('leaves out intervals that neither overlap the window nor run now', () => {
    const rows = rollup([iv({ start: 0, end: H })], { by: 'group', from: 2 * H, to: 3 * H, now: 3 * H });
    expect(rows).toEqual([]);
  });
});

const arbInterval = fc
  .record({
    start: fc.integer({ min: 0, max: 100 * H }),
    length: fc.option(fc.integer({ min: 0, max: 50 * H }), { nil: undefined }),
    price: fc.integer({ min: 0, max: 10_000 }).map((c) => c / 1000),
    group: fc.constantFrom('a', 'b', 'c'),
  })
  .map(({ start, length, price, group }) =>
    iv({ group, start, pricePerHour: price, ...(length === undefined ? {} : { end: start + length }) }),
  );

describe('properties', () => {
  it('the cost over a window equals the sum over intervals of overlap hours times price', () => {
    fc.assert(
      fc.property(
        fc.array(arbInterval, { maxLength: 30 }),
        fc.integer({ min: 0, max: 200 * H }),
        fc.integer({ min: 0, max: 100 * H }),
        (all, from, span) => {
          const to = from + span;
          const expected = all.reduce((sum, i) => {
            const end = Math.min(i.end ?? to, to);
            const start = Math.max(i.start, from);
            return sum + (end > start ? ((end - start) / H) * i.pricePerHour : 0);
          }, 0);
          expect(costBetween(all, from, to)).toBeCloseTo(expected, 6);
        },
      ),
    );
  });

  it('cost is additive over adjacent windows and the group rollup sums to the total', () => {
    fc.assert(
      fc.property(
        fc.array(arbInterval, { maxLength: 30 }),
        fc.integer({ min: 0, max: 150 * H }),
        fc.integer({ min: 0, max: 150 * H }),
        (all, a, b) => {
          const [from, mid] = a < b ? [a, b] : [b, a];
          const to = mid + H;
          expect(costBetween(all, from, mid) + costBetween(all, mid, to)).toBeCloseTo(costBetween(all, from, to), 6);
          const rows = rollup(all, { by: 'group', from, to, now: to });
          expect(rows.reduce((s, r) => s + r.cost, 0)).toBeCloseTo(costBetween(all, from, to), 6);
          expect(rows.reduce((s, r) => s + r.ratePerHour, 0)).toBeCloseTo(rateAt(all, to), 6);
        },
      ),
    );
  });

  it('the cost of a window is the integral of the rate over it (sampled at every change)', () => {
    fc.assert(
      fc.property(fc.array(arbInterval, { maxLength: 20 }), (all) => {
        const to = 200 * H;
        const points = [...new Set([0, to, ...all.flatMap((i) => [i.start, i.end ?? to])])]
          .filter((t) => t <= to)
          .sort((x, y) => x - y);
        let integral = 0;
        for (let k = 0; k + 1 < points.length; k++)
          integral += (rateAt(all, points[k]!) * (points[k + 1]! - points[k]!)) / H;
        expect(costBetween(all, 0, to)).toBeCloseTo(integral, 6);
      }),
    );
  });
});
