/**
 * @module The DeliveryStore conformance suite: every backend runs it by passing a factory,
 * `runDeliveryStoreConformance({ name, create })`. It checks what src/ports/delivery-store.ts promises.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import type { CloudEvent } from '../../src/core/event.js';
import type {
  DeadLetter,
  DeliveryChange,
  DeliveryKey,
  DeliveryStore,
  PendingDelivery,
  TraceEntry,
} from '../../src/ports/delivery-store.js';

export interface DeliveryStoreHarness {
  readonly store: DeliveryStore;
  /** Closes this store and opens the same storage again; for restart checks. */
  reopen(): Promise<DeliveryStoreHarness>;
  /** Closes the store (later calls must fail with E_CLOSED). Called once per harness. */
  close(): Promise<void>;
}

export interface DeliveryStoreConformanceOptions {
  /** The backend's name, shown in test titles. */
  readonly name: string;
  /** A fresh, empty store for each test. */
  readonly create: () => Promise<DeliveryStoreHarness>;
}

const T0 = Date.UTC(2026, 10, 24, 10);

export function key(n: number, overrides: Partial<DeliveryKey> = {}): DeliveryKey {
  return { source: '/orders', id: `ev-${n}`, rule: 'notify', target: 'http-0', ...overrides };
}

export function eventFor(k: DeliveryKey, data: unknown = { n: k.id }): CloudEvent {
  return {
    specversion: '1.0',
    id: k.id,
    source: k.source,
    type: 'order.created',
    time: '2026-11-24T10:00:00Z',
    subject: 'order/7',
    partitionkey: 'order/7',
    data,
  };
}

export function pending(k: DeliveryKey, overrides: Partial<PendingDelivery> = {}): DeliveryChange {
  return {
    kind: 'pending',
    delivery: { key: k, offset: 10, attempts: 1, nextAt: T0 + 1000, replayed: false, ...overrides },
  };
}

export function delivered(k: DeliveryKey, at = T0 + 2000): DeliveryChange {
  return { kind: 'delivered', key: k, offset: 10, attempts: 2, at };
}

export function dead(k: DeliveryKey, overrides: Partial<Omit<DeadLetter, 'id'>> = {}): DeliveryChange {
  return {
    kind: 'dead',
    letter: {
      key: k,
      offset: 10,
      attempts: 8,
      reason: 'max-attempts',
      error: { code: 'E_HTTP_STATUS', message: 'the target answered 503', details: { status: 503 } },
      event: eventFor(k),
      deadAt: T0 + 3000,
      ...overrides,
    },
  };
}

export function trace(k: DeliveryKey, kind: TraceEntry['kind'], overrides: Partial<TraceEntry> = {}): DeliveryChange {
  return {
    kind: 'trace',
    entry: { source: k.source, id: k.id, offset: 10, at: T0, kind, rule: k.rule, target: k.target, ...overrides },
  };
}

/** Defines vitest blocks that check the whole DeliveryStore contract. */
export function runDeliveryStoreConformance(options: DeliveryStoreConformanceOptions): void {
  describe(`DeliveryStore conformance: ${options.name}`, () => {
    let harness: DeliveryStoreHarness;
    let open = false;
    let store: DeliveryStore;
    const ctx = {
      get store() {
        return store;
      },
      async reopen() {
        open = false;
        harness = await harness.reopen();
        open = true;
        store = harness.store;
      },
      async close() {
        open = false;
        await harness.close();
      },
    };

    beforeEach(async () => {
      harness = await options.create();
      open = true;
      store = harness.store;
    });
    afterEach(async () => {
      if (open) await harness.close();
    });

    statusCases(ctx);
    deadLetterCases(ctx);
    listCases(ctx);
    traceAndPruneCases(ctx);
    lifecycleCases(ctx);
  });
}

interface Ctx {
  readonly store: DeliveryStore;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

function statusCases(ctx: Ctx): void {
  it('reports undefined for keys it never saw, in input order', async () => {
    await ctx.store.apply([pending(key(1))]);
    expect(await ctx.store.statusOf([key(2), key(1), key(1, { target: 'other' })])).toEqual([
      undefined,
      'pending',
      undefined,
    ]);
    expect(await ctx.store.statusOf([])).toEqual([]);
  });

  it('returns a pending delivery with every field, and replaces it on the next retry', async () => {
    const k = key(1);
    const error = { code: 'E_TIMEOUT', message: 'no answer in 10 s' };
    await ctx.store.apply([
      pending(k, { offset: 41, attempts: 1, nextAt: T0 + 100, lastError: error, replayed: true }),
    ]);
    expect(await ctx.store.pending()).toEqual([
      { key: k, offset: 41, attempts: 1, nextAt: T0 + 100, lastError: error, replayed: true },
    ]);
    await ctx.store.apply([pending(k, { offset: 41, attempts: 2, nextAt: T0 + 500 })]);
    expect(await ctx.store.pending()).toEqual([{ key: k, offset: 41, attempts: 2, nextAt: T0 + 500, replayed: false }]);
  });

  it('moves a pending delivery to delivered and no longer lists it as pending', async () => {
    await ctx.store.apply([pending(key(1)), pending(key(2))]);
    await ctx.store.apply([delivered(key(1))]);
    expect(await ctx.store.statusOf([key(1), key(2)])).toEqual(['delivered', 'pending']);
    expect((await ctx.store.pending()).map((p) => p.key)).toEqual([key(2)]);
  });

  it('records a delivery that was never pending as delivered', async () => {
    await ctx.store.apply([delivered(key(1))]);
    expect(await ctx.store.statusOf([key(1)])).toEqual(['delivered']);
  });

  it('keeps delivered final: later pending and dead changes are ignored and add no dead letter', async () => {
    await ctx.store.apply([delivered(key(1))]);
    await ctx.store.apply([pending(key(1)), dead(key(1))]);
    await ctx.store.apply([delivered(key(1), T0 + 9000)]);
    expect(await ctx.store.statusOf([key(1)])).toEqual(['delivered']);
    expect(await ctx.store.pending()).toEqual([]);
    expect(await ctx.store.listDead()).toEqual([]);
    expect(await ctx.store.countDead()).toBe(0);
  });

  it('applies a batch in order: pending then delivered ends delivered, delivered then pending too', async () => {
    await ctx.store.apply([pending(key(1)), delivered(key(1)), delivered(key(2)), pending(key(2))]);
    expect(await ctx.store.statusOf([key(1), key(2)])).toEqual(['delivered', 'delivered']);
  });

  it('lists pending deliveries oldest nextAt first, whatever the order they were written in', async () => {
    await ctx.store.apply([
      pending(key(1), { nextAt: T0 + 300, offset: 30 }),
      pending(key(2), { nextAt: T0 + 200, offset: 10 }),
    ]);
    await ctx.store.apply([
      pending(key(3), { nextAt: T0 + 100, offset: 20 }),
      pending(key(1), { nextAt: T0 + 150, offset: 30 }),
    ]);
    expect((await ctx.store.pending()).map((p) => [p.key.id, p.nextAt])).toEqual([
      ['ev-3', T0 + 100],
      ['ev-1', T0 + 150],
      ['ev-2', T0 + 200],
    ]);
  });

  it('answers hundreds of keys at once, in input order', async () => {
    const keys = Array.from({ length: 600 }, (_, i) => key(i));
    await ctx.store.apply(keys.filter((_, i) => i % 3 === 0).map((k) => pending(k)));
    await ctx.store.apply(keys.filter((_, i) => i % 3 === 1).map((k) => delivered(k)));
    const statuses = await ctx.store.statusOf(keys);
    expect(statuses).toHaveLength(600);
    statuses.forEach((s, i) => expect(s).toBe([`pending`, 'delivered', undefined][i % 3]));
  });
}

function deadLetterCases(ctx: Ctx): void {
  it('dead-letters a pending delivery with a copy of the event, the error and the reason', async () => {
    const k = key(1, { source: 'urn:shop:orders', rule: 'page', target: 'oncall' });
    const event = { ...eventFor(k, { nested: { list: [1, 'two', null] } }), myext: 'x' };
    await ctx.store.apply([pending(k), dead(k, { offset: 77, attempts: 5, reason: 'max-age', event })]);
    expect(await ctx.store.statusOf([k])).toEqual(['dead']);
    expect(await ctx.store.pending()).toEqual([]);
    const [letter] = await ctx.store.listDead();
    expect(letter).toEqual({
      id: expect.any(Number),
      key: k,
      offset: 77,
      attempts: 5,
      reason: 'max-age',
      error: { code: 'E_HTTP_STATUS', message: 'the target answered 503', details: { status: 503 } },
      event,
      deadAt: T0 + 3000,
    });
    expect(await ctx.store.getDead(letter!.id)).toEqual(letter);
  });

  it('dead-letters a key it never saw (a delivery that failed for good on its first attempt)', async () => {
    await ctx.store.apply([dead(key(1), { attempts: 1, reason: 'not-retryable' })]);
    expect(await ctx.store.statusOf([key(1)])).toEqual(['dead']);
    expect((await ctx.store.listDead()).map((l) => l.reason)).toEqual(['not-retryable']);
  });

  it('returns undefined for a dead-letter id that does not exist', async () => {
    await ctx.store.apply([dead(key(1))]);
    const [letter] = await ctx.store.listDead();
    expect(await ctx.store.getDead(letter!.id + 1000)).toBeUndefined();
  });

  it('gives dead letters increasing ids, never reusing a removed one', async () => {
    await ctx.store.apply([dead(key(1)), dead(key(2))]);
    const [a, b] = await ctx.store.listDead();
    expect(b!.id).toBeGreaterThan(a!.id);
    await ctx.store.apply([{ kind: 'remove-dead', ids: [b!.id] }]);
    await ctx.store.apply([dead(key(3))]);
    const ids = (await ctx.store.listDead()).map((l) => l.id);
    expect(ids[0]).toBe(a!.id);
    expect(ids[1]).toBeGreaterThan(b!.id);
  });

  it('redrives: removing the dead letter and writing pending makes the key pending again', async () => {
    await ctx.store.apply([dead(key(1)), dead(key(2))]);
    const [first] = await ctx.store.listDead();
    await ctx.store.apply([
      { kind: 'remove-dead', ids: [first!.id] },
      pending(key(1), { attempts: 0, nextAt: T0 + 5000 }),
    ]);
    expect(await ctx.store.statusOf([key(1), key(2)])).toEqual(['pending', 'dead']);
    expect(await ctx.store.getDead(first!.id)).toBeUndefined();
    expect((await ctx.store.pending()).map((p) => [p.key, p.attempts])).toEqual([[key(1), 0]]);
    await ctx.store.apply([dead(key(1), { reason: 'max-attempts' })]);
    expect((await ctx.store.listDead()).map((l) => l.key.id)).toEqual(['ev-2', 'ev-1']);
  });

  it('keeps the dead status of a purged entry, so a restart does not deliver it again', async () => {
    await ctx.store.apply([dead(key(1))]);
    const [letter] = await ctx.store.listDead();
    await ctx.store.apply([{ kind: 'remove-dead', ids: [letter!.id, letter!.id + 999] }]);
    expect(await ctx.store.listDead()).toEqual([]);
    expect(await ctx.store.statusOf([key(1)])).toEqual(['dead']);
    expect(await ctx.store.pending()).toEqual([]);
  });

  it('adds no second dead letter when a dead key is dead-lettered again without a redrive', async () => {
    await ctx.store.apply([dead(key(1))]);
    await ctx.store.apply([dead(key(1), { reason: 'rule-deleted' })]);
    expect((await ctx.store.listDead()).map((l) => l.reason)).toEqual(['max-attempts']);
  });
}

function listCases(ctx: Ctx): void {
  async function seed(): Promise<void> {
    await ctx.store.apply([
      dead(key(1, { rule: 'a', target: 'x' }), { deadAt: T0 }),
      dead(key(2, { rule: 'a', target: 'y' }), { deadAt: T0 + 10 }),
      dead(key(3, { rule: 'b', target: 'x' }), { deadAt: T0 + 20 }),
      dead(key(4, { rule: 'a', target: 'x' }), { deadAt: T0 + 30 }),
    ]);
  }
  const ids = async (page: Parameters<DeliveryStore['listDead']>[0]) =>
    (await ctx.store.listDead(page)).map((l) => l.key.id);

  it('filters dead letters by rule, target and time (since inclusive, until exclusive)', async () => {
    await seed();
    expect(await ids({ rule: 'a' })).toEqual(['ev-1', 'ev-2', 'ev-4']);
    expect(await ids({ target: 'x' })).toEqual(['ev-1', 'ev-3', 'ev-4']);
    expect(await ids({ rule: 'a', target: 'x' })).toEqual(['ev-1', 'ev-4']);
    expect(await ids({ since: T0 + 10 })).toEqual(['ev-2', 'ev-3', 'ev-4']);
    expect(await ids({ until: T0 + 20 })).toEqual(['ev-1', 'ev-2']);
    expect(await ids({ rule: 'a', since: T0 + 10, until: T0 + 30 })).toEqual(['ev-2']);
    expect(await ids({ rule: 'nope' })).toEqual([]);
  });

  it('counts dead letters with the same filters', async () => {
    await seed();
    expect(await ctx.store.countDead()).toBe(4);
    expect(await ctx.store.countDead({})).toBe(4);
    expect(await ctx.store.countDead({ rule: 'a' })).toBe(3);
    expect(await ctx.store.countDead({ rule: 'a', target: 'x', since: T0 + 1 })).toBe(1);
    expect(await ctx.store.countDead({ until: T0 })).toBe(0);
  });

  it('pages dead letters by id with after and limit', async () => {
    await seed();
    const first = await ctx.store.listDead({ limit: 2 });
    expect(first.map((l) => l.key.id)).toEqual(['ev-1', 'ev-2']);
    const second = await ctx.store.listDead({ limit: 2, after: first[1]!.id });
    expect(second.map((l) => l.key.id)).toEqual(['ev-3', 'ev-4']);
    expect(await ctx.store.listDead({ limit: 2, after: second[1]!.id })).toEqual([]);
    expect(await ids({ rule: 'a', after: first[0]!.id, limit: 1 })).toEqual(['ev-2']);
  });

  it('returns 100 dead letters by default and never more than 1,000 in one page', async () => {
    await ctx.store.apply(Array.from({ length: 1005 }, (_, i) => dead(key(i))));
    expect(await ctx.store.listDead()).toHaveLength(100);
    expect(await ctx.store.listDead({ limit: 5000 })).toHaveLength(1000);
    expect(await ctx.store.countDead()).toBe(1005);
  });
}

function traceAndPruneCases(ctx: Ctx): void {
  it('returns an event’s trace entries in the order written, with every field', async () => {
    const k = key(1);
    const entries: DeliveryChange[] = [
      trace(k, 'matched', { target: undefined, at: T0 + 5 }),
      trace(k, 'attempt', { attempt: 1, at: T0 + 1 }),
      trace(k, 'retry-scheduled', { attempt: 1, detail: { delayMs: 120, error: { code: 'E_TIMEOUT' } } }),
    ];
    await ctx.store.apply(entries.slice(0, 2));
    await ctx.store.apply([trace(key(2), 'matched'), entries[2]!]);
    await ctx.store.apply([trace(k, 'emitted', { detail: { events: [{ source: '/homeostat', id: 'e-9' }] } })]);
    const got = await ctx.store.trace(k.id, k.source);
    expect(got.map((e) => e.kind)).toEqual(['matched', 'attempt', 'retry-scheduled', 'emitted']);
    expect(got[0]).toEqual({ source: k.source, id: k.id, offset: 10, at: T0 + 5, kind: 'matched', rule: 'notify' });
    expect(Object.keys(got[0]!)).not.toContain('target');
    expect(got[2]).toEqual((entries[2] as { entry: TraceEntry }).entry);
    expect(got[3]!.detail).toEqual({ events: [{ source: '/homeostat', id: 'e-9' }] });
  });

  it('returns the trace of every source with that id when no source is given', async () => {
    await ctx.store.apply([
      trace(key(1, { source: '/a' }), 'matched'),
      trace(key(1, { source: '/b' }), 'matched'),
      trace(key(1, { source: '/a' }), 'delivered'),
    ]);
    expect((await ctx.store.trace('ev-1')).map((e) => [e.source, e.kind])).toEqual([
      ['/a', 'matched'],
      ['/b', 'matched'],
      ['/a', 'delivered'],
    ]);
    expect((await ctx.store.trace('ev-1', '/b')).map((e) => e.source)).toEqual(['/b']);
    expect(await ctx.store.trace('ev-2')).toEqual([]);
  });

  it('prunes delivered keys and trace entries older than the cut-off, and nothing else', async () => {
    await ctx.store.apply([
      delivered(key(1), T0),
      delivered(key(2), T0 + 100),
      pending(key(3), { nextAt: T0 - 1000 }),
      dead(key(4), { deadAt: T0 - 1000 }),
      trace(key(1), 'delivered', { at: T0 }),
      trace(key(2), 'delivered', { at: T0 + 100 }),
    ]);
    expect(await ctx.store.prune(T0 + 100)).toBe(2);
    expect(await ctx.store.statusOf([key(1), key(2), key(3), key(4)])).toEqual([
      undefined,
      'delivered',
      'pending',
      'dead',
    ]);
    expect(await ctx.store.trace('ev-1')).toEqual([]);
    expect(await ctx.store.trace('ev-2')).toHaveLength(1);
    expect(await ctx.store.countDead()).toBe(1);
    expect(await ctx.store.prune(T0 + 100)).toBe(0);
  });
}

function lifecycleCases(ctx: Ctx): void {
  it('writes a batch whole or not at all', async () => {
    const bogus = { kind: 'bogus' } as unknown as DeliveryChange;
    await expect(ctx.store.apply([pending(key(1)), bogus])).rejects.toBeDefined();
    expect(await ctx.store.statusOf([key(1)])).toEqual([undefined]);
  });

  it('serializes concurrent applies so that none is lost', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => ctx.store.apply([pending(key(i)), trace(key(i), 'matched')])),
    );
    expect(await ctx.store.pending()).toHaveLength(20);
    expect((await ctx.store.trace('ev-19')).map((e) => e.kind)).toEqual(['matched']);
  });

  it('keeps statuses, pending deliveries, dead letters and the trace across a reopen', async () => {
    await ctx.store.apply([
      pending(key(1), { lastError: { code: 'E_X', message: 'x' } }),
      delivered(key(2)),
      dead(key(3)),
      trace(key(3), 'dead-lettered', { detail: { reason: 'max-attempts' } }),
    ]);
    const before = {
      pending: await ctx.store.pending(),
      dead: await ctx.store.listDead(),
      trace: await ctx.store.trace('ev-3'),
    };
    await ctx.reopen();
    expect(await ctx.store.statusOf([key(1), key(2), key(3)])).toEqual(['pending', 'delivered', 'dead']);
    expect(await ctx.store.pending()).toEqual(before.pending);
    expect(await ctx.store.listDead()).toEqual(before.dead);
    expect(await ctx.store.trace('ev-3')).toEqual(before.trace);
    await ctx.store.apply([dead(key(4))]);
    expect((await ctx.store.listDead()).map((l) => l.id)[1]).toBeGreaterThan(before.dead[0]!.id);
  });

  it('fails with E_CLOSED after the store is closed', async () => {
    await ctx.close();
    await expect(ctx.store.statusOf([key(1)])).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    await expect(ctx.store.apply([pending(key(1))])).rejects.toMatchObject({ code: ErrorCode.CLOSED });
  });
}
