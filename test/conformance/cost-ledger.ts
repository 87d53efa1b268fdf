/**
 * @module The CostLedger conformance suite: every backend runs it by passing a factory,
 * `runCostLedgerConformance({ name, create })`. It checks what src/ports/cost-ledger.ts promises,
 * with closed costs summed by the backend compared against the core's integration.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { costBetween, inScope, rollup } from '../../src/core/cost/integrate.js';
import type { CostDimension } from '../../src/core/cost/types.js';
import type { CostChange, CostLedger, LedgerInterval } from '../../src/ports/cost-ledger.js';

export interface CostLedgerHarness {
  readonly ledger: CostLedger;
  /** Empties the ledger (intervals, changes, causes and state). */
  clear(): Promise<void>;
  /** Closes this ledger and opens the same storage again; for restart checks. */
  reopen(): Promise<CostLedgerHarness>;
  close(): Promise<void>;
}

export interface CostLedgerConformanceOptions {
  readonly name: string;
  /** A fresh, empty ledger; one per suite (tests call `clear`). */
  readonly create: () => Promise<CostLedgerHarness>;
  /** Runs of the property test. Default 60. */
  readonly numRuns?: number;
}

const H = 3_600_000;

const arbInterval = (n: number) =>
  fc
    .record({
      start: fc.integer({ min: 0, max: 100 * H }),
      length: fc.integer({ min: 1, max: 50 * H }),
      price: fc.integer({ min: 0, max: 10_000 }).map((c) => c / 1000),
      group: fc.constantFrom('web', 'api', 'batch'),
      stack: fc.option(fc.constantFrom('shop', 'data'), { nil: undefined }),
      tags: fc.dictionary(fc.constantFrom('team', 'env', 'cost.center'), fc.constantFrom('a', 'b'), { maxKeys: 2 }),
    })
    .map((x): LedgerInterval => ({
      instance: `i-${n}-${x.start}-${x.length}`,
      group: x.group,
      ...(x.stack === undefined ? {} : { stack: x.stack }),
      tags: x.tags,
      provider: 'sim',
      instanceType: 'sim.small',
      pricePerHour: x.price,
      start: x.start,
      end: x.start + x.length,
      startEvent: `e-${n}`,
    }));

const change = (at: number, overrides: Partial<CostChange> = {}): CostChange => ({
  at,
  kind: 'started',
  instance: `web-${at}`,
  group: 'web',
  tags: { team: 'a' },
  instanceType: 'sim.small',
  deltaPerHour: 0.021,
  rateAfter: 0.021 * at,
  eventId: `e-${at}`,
  eventType: 'infra.instance.started',
  ...overrides,
});

/** Defines vitest blocks that check the whole CostLedger contract. */
export function runCostLedgerConformance(options: CostLedgerConformanceOptions): void {
  describe(`CostLedger conformance: ${options.name}`, () => {
    let harness: CostLedgerHarness;
    let ledger: CostLedger;
    let round = 0;

    beforeAll(async () => {
      harness = await options.create();
      ledger = harness.ledger;
    });
    afterAll(async () => {
      await harness.close();
    });
    beforeEach(async () => {
      await harness.clear();
    });

    it('sums closed intervals exactly as the core integrates them, by every dimension and scope', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(arbInterval(round), { maxLength: 25 }),
          fc.integer({ min: 0, max: 150 * H }),
          fc.integer({ min: 0, max: 100 * H }),
          fc.constantFrom<CostDimension | 'total'>('total', 'group', 'stack', 'tag'),
          fc.option(fc.constantFrom('team', 'cost.center'), { nil: undefined }),
          fc.option(
            fc.record(
              { stack: fc.constantFrom('shop', 'data'), tags: fc.constant({ team: 'a' }) },
              { requiredKeys: [] },
            ),
            { nil: undefined },
          ),
          async (raw, from, span, by, tagKey, scope) => {
            await harness.clear();
            const intervals = [...new Map(raw.map((i) => [`${i.instance}`, i])).values()];
            for (const i of intervals) {
              const { end, ...open } = i;
              await ledger.commit({ open });
              await ledger.commit({ close: { instance: i.instance, start: i.start, end: end!, endEvent: 'stop' } });
            }
            round++;
            const to = from + span;
            const rows = await ledger.closedCost({
              from,
              to,
              by,
              ...(by === 'tag' && tagKey ? { tagKey } : {}),
              ...(scope ? { scope } : {}),
            });
            const inside = intervals.filter((i) => inScope(i, scope));
            const expected =
              by === 'total'
                ? new Map([['', costBetween(inside, from, to)]])
                : new Map(
                    rollup(inside, { by, ...(tagKey ? { tagKey } : {}), from, to, now: to }).map((r) => [
                      r.key,
                      r.cost,
                    ]),
                  );
            const got = new Map(rows.filter((r) => r.cost > 1e-12).map((r) => [r.key, r.cost]));
            for (const [k, v] of expected) if (v > 1e-12) expect(got.get(k) ?? 0).toBeCloseTo(v, 9);
            for (const [k, v] of got) expect(expected.get(k) ?? 0).toBeCloseTo(v, 9);
          },
        ),
        { numRuns: options.numRuns ?? 60 },
      );
    });

    it('keeps open intervals until closed, state by key, causes by id, and prunes by age', async () => {
      const open: LedgerInterval = {
        instance: 'web-1',
        group: 'web',
        tags: {},
        provider: 'sim',
        instanceType: 'sim.small',
        pricePerHour: 0.021,
        start: 1000,
        startEvent: 'e1',
        startCause: 'd1',
      };
      await ledger.commit({
        open,
        causes: [{ id: 'd1', type: 'infra.reconcile.decided', summary: 'reconcile web', at: 1000, causationId: 'a1' }],
        state: { 'tracker.offset': 42 },
      });
      expect(await ledger.openIntervals()).toEqual([open]);
      expect(await ledger.getState('tracker.offset')).toBe(42);
      expect((await ledger.causes(['d1', 'missing'])).get('d1')).toMatchObject({ causationId: 'a1' });
      await ledger.commit({
        close: { instance: 'web-1', start: 1000, end: 5000, endEvent: 'e2' },
        state: { 'tracker.offset': null },
      });
      expect(await ledger.openIntervals()).toEqual([]);
      expect(await ledger.getState('tracker.offset')).toBeUndefined();
      expect((await ledger.prune(10_000)).removed).toBe(2);
      expect(await ledger.causes(['d1'])).toEqual(new Map());
    });

    it('lists open intervals oldest first, with every field; closing one that is not open does nothing', async () => {
      const a: LedgerInterval = {
        instance: 'a',
        group: 'web',
        stack: 'shop',
        tags: { team: 'x', 'cost.center': '7' },
        provider: 'sim',
        instanceType: 'sim.large',
        pricePerHour: 0.5,
        start: 2000,
        startEvent: 'ea',
      };
      const { stack: _stack, ...unstacked } = a;
      const b: LedgerInterval = { ...unstacked, instance: 'b', start: 1000, tags: {} };
      await ledger.commit({ open: a });
      await ledger.commit({ open: b });
      await ledger.commit({ close: { instance: 'a', start: 9, end: 3000, endEvent: 'x' } });
      await ledger.commit({ close: { instance: 'nope', start: 2000, end: 3000, endEvent: 'x' } });
      expect(await ledger.openIntervals()).toEqual([b, a]);
      await ledger.commit({ close: { instance: 'a', start: 2000, end: 3000, endEvent: 'x', endCause: 'c' } });
      await ledger.commit({ close: { instance: 'a', start: 2000, end: 4000, endEvent: 'y' } });
      expect(await ledger.openIntervals()).toEqual([b]);
      const cost = await ledger.closedCost({ from: 0, to: 10_000, by: 'total' });
      expect(cost).toHaveLength(1);
      expect(cost[0]!.cost).toBeCloseTo((0.5 * 1000) / H, 12);
    });

    it('reopens an interval with the same start as a fresh open interval', async () => {
      const i: LedgerInterval = {
        instance: 'w',
        group: 'web',
        tags: {},
        provider: 'sim',
        instanceType: 's',
        pricePerHour: 1,
        start: 10,
        startEvent: 'e1',
      };
      await ledger.commit({ open: i });
      await ledger.commit({ close: { instance: 'w', start: 10, end: 20, endEvent: 'e2', endCause: 'c' } });
      await ledger.commit({ open: { ...i, pricePerHour: 2, startEvent: 'e3' } });
      expect(await ledger.openIntervals()).toEqual([{ ...i, pricePerHour: 2, startEvent: 'e3' }]);
    });

    it('returns changes newest first, from a time, in a scope, at most limit', async () => {
      await ledger.commit({ change: change(1) });
      await ledger.commit({ change: change(2, { group: 'api', stack: 'shop', causeId: 'c2', tags: {} }) });
      await ledger.commit({ change: change(3, { kind: 'crashed', deltaPerHour: -0.021 }) });
      expect((await ledger.changes({ limit: 10 })).map((c) => c.at)).toEqual([3, 2, 1]);
      expect((await ledger.changes({ limit: 2 })).map((c) => c.at)).toEqual([3, 2]);
      expect((await ledger.changes({ limit: 10, since: 2 })).map((c) => c.at)).toEqual([3, 2]);
      expect((await ledger.changes({ limit: 10, scope: { group: 'web' } })).map((c) => c.at)).toEqual([3, 1]);
      expect((await ledger.changes({ limit: 10, scope: { stack: 'shop' } })).map((c) => c.at)).toEqual([2]);
      expect((await ledger.changes({ limit: 10, scope: { tags: { team: 'a' } } })).map((c) => c.at)).toEqual([3, 1]);
      const [second] = await ledger.changes({ limit: 1, since: 2, scope: { group: 'api' } });
      expect(second).toEqual(change(2, { group: 'api', stack: 'shop', causeId: 'c2', tags: {} }));
    });

    it('keeps the first cause recorded under an id', async () => {
      await ledger.commit({ causes: [{ id: 'c', type: 't1', summary: 'first', at: 1, subject: 'web' }] });
      await ledger.commit({ causes: [{ id: 'c', type: 't2', summary: 'second', at: 2 }] });
      expect(await ledger.causes(['c'])).toEqual(
        new Map([['c', { id: 'c', type: 't1', summary: 'first', at: 1, subject: 'web' }]]),
      );
      expect(await ledger.causes([])).toEqual(new Map());
    });

    it('stores JSON state by key, replacing and deleting it', async () => {
      await ledger.putState('baseline', { web: [1, 2.5, null], note: 'ü' });
      expect(await ledger.getState('baseline')).toEqual({ web: [1, 2.5, null], note: 'ü' });
      await ledger.putState('baseline', [1]);
      expect(await ledger.getState('baseline')).toEqual([1]);
      await ledger.putState('baseline', null);
      expect(await ledger.getState('baseline')).toBeUndefined();
      expect(await ledger.getState('never')).toBeUndefined();
    });

    it('commits a step whole or not at all', async () => {
      const open: LedgerInterval = {
        instance: 'x',
        group: 'g',
        tags: {},
        provider: 'p',
        instanceType: 't',
        pricePerHour: 1,
        start: 1,
        startEvent: 'e',
      };
      const broken = { ...change(5), eventId: null } as unknown as CostChange;
      await expect(ledger.commit({ open, change: broken })).rejects.toBeDefined();
      expect(await ledger.openIntervals()).toEqual([]);
      expect(await ledger.changes({ limit: 5 })).toEqual([]);
    });

    it('keeps intervals, changes, causes and state across a reopen', async () => {
      const open: LedgerInterval = {
        instance: 'w',
        group: 'web',
        tags: { team: 'a' },
        provider: 'sim',
        instanceType: 's',
        pricePerHour: 1,
        start: 10,
        startEvent: 'e1',
      };
      await ledger.commit({
        open,
        change: change(10),
        causes: [{ id: 'c', type: 't', summary: 's', at: 10 }],
        state: { k: { v: 1 } },
      });
      harness = await harness.reopen();
      ledger = harness.ledger;
      expect(await ledger.openIntervals()).toEqual([open]);
      expect(await ledger.changes({ limit: 5 })).toEqual([change(10)]);
      expect((await ledger.causes(['c'])).size).toBe(1);
      expect(await ledger.getState('k')).toEqual({ v: 1 });
    });
  });
}
