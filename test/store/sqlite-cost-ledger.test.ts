import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costBetween, inScope, rollup } from '../../src/core/cost/integrate.js';
import type { CostDimension } from '../../src/core/cost/types.js';
import type { CostLedger, LedgerInterval } from '../../src/ports/cost-ledger.js';
import { createSqliteCostLedger } from '../../src/store/sqlite/cost-ledger.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';

const H = 3_600_000;
let dir: string;
let db: SqliteDatabase;
let ledger: CostLedger;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-ledger-'));
  db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
  ledger = createSqliteCostLedger(db);
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

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

let round = 0;

describe('SqliteCostLedger', () => {
  it('sums closed intervals in SQL exactly as the core integrates them, by every dimension and scope', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbInterval(round), { maxLength: 25 }),
        fc.integer({ min: 0, max: 150 * H }),
        fc.integer({ min: 0, max: 100 * H }),
        fc.constantFrom<CostDimension | 'total'>('total', 'group', 'stack', 'tag'),
        fc.option(fc.constantFrom('team', 'cost.center'), { nil: undefined }),
        fc.option(fc.record({ stack: fc.constantFrom('shop', 'data') }, { requiredKeys: [] }), { nil: undefined }),
        async (raw, from, span, by, tagKey, scope) => {
          db.exec('DELETE FROM cost_intervals');
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
                  rollup(inside, { by, ...(tagKey ? { tagKey } : {}), from, to, now: to }).map((r) => [r.key, r.cost]),
                );
          const got = new Map(rows.filter((r) => r.cost > 1e-12).map((r) => [r.key, r.cost]));
          for (const [k, v] of expected) if (v > 1e-12) expect(got.get(k) ?? 0).toBeCloseTo(v, 9);
          for (const [k, v] of got) expect(expected.get(k) ?? 0).toBeCloseTo(v, 9);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps open intervals until closed, state by key, causes by id, and prunes by age', async () => {
    db.exec('DELETE FROM cost_intervals; DELETE FROM cost_changes; DELETE FROM cost_causes');
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
});
