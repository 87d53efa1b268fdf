/**
 * @module The ConditionStore conformance suite: every backend runs it by passing a factory,
 * `runConditionStoreConformance({ name, create })`. It checks what src/ports/condition-store.ts promises.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import { ErrorCode } from '../../src/core/errors.js';
import type { ConditionRow, ConditionStore } from '../../src/ports/condition-store.js';

export interface ConditionStoreHarness {
  readonly store: ConditionStore;
  /** Closes this store and opens the same storage again; for restart checks. */
  reopen(): Promise<ConditionStoreHarness>;
  /** Closes the store (later calls must fail with E_CLOSED). Called once per harness. */
  close(): Promise<void>;
}

export interface ConditionStoreConformanceOptions {
  /** The backend's name, shown in test titles. */
  readonly name: string;
  /** A fresh, empty store for each test, stamping advanced rows with `clock`. */
  readonly create: (clock: ManualClock) => Promise<ConditionStoreHarness>;
}

function row(rule: string, offset: number, overrides: Partial<ConditionRow> = {}): ConditionRow {
  return {
    rule,
    fingerprint: 'f',
    generation: 1,
    offset,
    snapshot: { v: 1, groups: [[rule, { n: offset }]] },
    savedAt: 5,
    ...overrides,
  };
}

/** Defines vitest blocks that check the whole ConditionStore contract. */
export function runConditionStoreConformance(options: ConditionStoreConformanceOptions): void {
  describe(`ConditionStore conformance: ${options.name}`, () => {
    let harness: ConditionStoreHarness;
    let store: ConditionStore;
    let clock: ManualClock;
    let open = false;

    beforeEach(async () => {
      clock = createManualClock(1000);
      harness = await options.create(clock);
      store = harness.store;
      open = true;
    });
    afterEach(async () => {
      if (open) await harness.close();
    });

    it('lists nothing when empty', async () => {
      expect(await store.list()).toEqual([]);
    });

    it('upserts, advances without ever lowering an offset, and removes rows in one save', async () => {
      await store.save({ put: [row('a', 10), row('b', 50), row('c', 1)] });
      clock.set(2000);
      await store.save({ remove: ['c'], advance: { rules: ['a', 'b', 'missing'], offset: 20 } });
      expect((await store.list()).map((r) => [r.rule, r.offset, r.savedAt, r.snapshot])).toEqual([
        ['a', 20, 2000, { v: 1, groups: [['a', { n: 10 }]] }],
        ['b', 50, 5, { v: 1, groups: [['b', { n: 50 }]] }],
      ]);
    });

    it('returns a row with every field, and replaces it whole on the next put', async () => {
      const first = row('cpu', 7, { fingerprint: 'abc', generation: 2, snapshot: { s: ['ü', null, 1.5] }, savedAt: 9 });
      await store.save({ put: [first] });
      expect(await store.list()).toEqual([first]);
      const second = row('cpu', 3, { fingerprint: 'def', generation: 3, snapshot: [], savedAt: 11 });
      await store.save({ put: [second] });
      expect(await store.list()).toEqual([second]);
    });

    it('does not create rows for advanced rules it has no row for', async () => {
      await store.save({ advance: { rules: ['ghost'], offset: 5 } });
      expect(await store.list()).toEqual([]);
    });

    it('applies removals, then puts, then advances, within one save', async () => {
      await store.save({ put: [row('a', 1), row('b', 1)] });
      clock.set(3000);
      await store.save({
        remove: ['a', 'b'],
        put: [row('b', 4, { savedAt: 6 })],
        advance: { rules: ['a', 'b'], offset: 9 },
      });
      expect((await store.list()).map((r) => [r.rule, r.offset, r.savedAt])).toEqual([['b', 9, 3000]]);
    });

    it('lists rows in rule name order', async () => {
      await store.save({ put: ['web.5xx', 'B', 'a-b', 'a.b', 'cpu'].map((r) => row(r, 1)) });
      expect((await store.list()).map((r) => r.rule)).toEqual(['B', 'a-b', 'a.b', 'cpu', 'web.5xx']);
    });

    it('serializes concurrent saves in call order', async () => {
      await Promise.all([
        store.save({ put: [row('a', 10)] }),
        store.save({ advance: { rules: ['a'], offset: 20 } }),
        store.save({ put: [row('b', 1)] }),
        store.save({ remove: ['b'] }),
      ]);
      expect((await store.list()).map((r) => [r.rule, r.offset])).toEqual([['a', 20]]);
    });

    it('keeps rows across a reopen', async () => {
      await store.save({ put: [row('a', 10), row('b', 50)] });
      const before = await store.list();
      open = false;
      harness = await harness.reopen();
      open = true;
      store = harness.store;
      expect(await store.list()).toEqual(before);
    });

    it('fails with E_CLOSED after the store is closed', async () => {
      open = false;
      await harness.close();
      await expect(store.list()).rejects.toMatchObject({ code: ErrorCode.CLOSED });
      await expect(store.save({ put: [row('a', 1)] })).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    });
  });
}
