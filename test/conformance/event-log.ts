/**
 * @module Conformance suite for the EventLog port. Every backend runs it by passing a factory:
 * `runEventLogConformance({ name, create })`. It checks only what the port's contract promises.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { partitionKeyOf, partitionOf } from '../../src/core/event.js';
import type { EventLog, EventLogOptions, LogRecord } from '../../src/ports/event-log.js';

export interface EventLogHarness {
  readonly log: EventLog;
  /** Reopens the same log (same storage) after closing this one; for restart checks. */
  reopen(): Promise<EventLogHarness>;
  /** Removes the storage. */
  destroy(): Promise<void>;
}

export interface EventLogConformanceOptions {
  readonly name: string;
  /**
   * Creates an empty log. `clock` is a manual clock the backend should use for append times when
   * it can; backends whose server stamps times pass `supportsFakeClock: false`.
   */
  readonly create: (options: Partial<EventLogOptions> & { clock: ManualClock }) => Promise<EventLogHarness>;
  readonly supportsFakeClock?: boolean;
}

let seq = 0;
export function makeEvent(overrides: Partial<CloudEvent> = {}): CloudEvent {
  seq += 1;
  return {
    specversion: '1.0',
    id: `ev-${seq}`,
    source: '/conformance',
    type: 'test.happened',
    data: { n: seq },
    ...overrides,
  } as CloudEvent;
}

async function readAll(log: EventLog, from = 0): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let cursor = from;
  for (;;) {
    const page = await log.read({ from: cursor, limit: 1000 });
    if (page.length === 0) return out;
    out.push(...page);
    cursor = page[page.length - 1]!.offset + 1;
  }
}

export function runEventLogConformance(options: EventLogConformanceOptions): void {
  const fakeTime = options.supportsFakeClock !== false;
  // Cases that move the clock. A backend whose server stamps append times checks the same
  // behaviour in real time in its own test file (test/log/nats-event-log.test.ts), so they are
  // not registered for it rather than reported as skipped.
  const timed = (fakeTime ? it : () => undefined) as typeof it;
  describe(`EventLog conformance: ${options.name}`, () => {
    let harnesses: EventLogHarness[] = [];
    let clock: ManualClock;
    async function open(opts: Partial<EventLogOptions> = {}): Promise<EventLog> {
      clock = createManualClock(Date.UTC(2026, 10, 24, 10));
      const h = await options.create({ ...opts, clock });
      harnesses.push(h);
      return h.log;
    }
    afterEach(async () => {
      for (const h of harnesses) {
        await h.log.close();
        await h.destroy();
      }
      harnesses = [];
    });

    it('appends a batch and reads it back in order with increasing offsets', async () => {
      const log = await open();
      const events = [makeEvent(), makeEvent(), makeEvent()];
      const results = await log.append(events);
      expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
      const records = await readAll(log);
      expect(records.map((r) => r.event)).toEqual(events);
      const offsets = records.map((r) => r.offset);
      expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
      expect(new Set(offsets).size).toBe(3);
      expect(records.map((r) => r.offset)).toEqual(results.map((r) => r.offset));
    });

    it('keeps the event envelope intact, extensions included', async () => {
      const log = await open();
      const ev = makeEvent({
        subject: 'group/web',
        time: '2026-11-24T10:00:00.123Z',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        correlationid: 'c-1',
        ext1: 7,
        flag: true,
      } as Partial<CloudEvent>);
      await log.append([ev]);
      const [rec] = await log.read();
      expect(rec!.event).toEqual(ev);
    });

    it('suppresses a duplicate (source, id) inside the window, also within one batch', async () => {
      const log = await open();
      const a = makeEvent();
      const first = await log.append([a]);
      const again = await log.append([
        { ...a, data: 'changed' },
        makeEvent({ id: 'x', source: '/s' }),
        makeEvent({ id: 'x', source: '/s' }),
      ]);
      expect(again.map((r) => r.status)).toEqual(['duplicate', 'accepted', 'duplicate']);
      if (again[0]!.offset !== undefined) expect(again[0]!.offset).toBe(first[0]!.offset);
      expect((await readAll(log)).length).toBe(2);
      expect((await log.stats()).count).toBe(2);
    });

    it('treats the same id from another source as a different event', async () => {
      const log = await open();
      const r = await log.append([makeEvent({ id: 'same', source: '/a' }), makeEvent({ id: 'same', source: '/b' })]);
      expect(r.map((x) => x.status)).toEqual(['accepted', 'accepted']);
    });

    timed('appends a repeat again once the dedup window has passed', async () => {
      const log = await open({ dedupWindowMs: 60_000 });
      const ev = makeEvent();
      await log.append([ev]);
      clock.advance(30_000);
      expect((await log.append([ev]))[0]!.status).toBe('duplicate');
      clock.advance(31_000);
      expect((await log.append([ev]))[0]!.status).toBe('accepted');
    });

    it('groups concurrent appends and answers each caller with its own results in order', async () => {
      const log = await open();
      const batches = Array.from({ length: 20 }, () => Array.from({ length: 25 }, () => makeEvent()));
      const results = await Promise.all(batches.map((b) => log.append(b)));
      for (const [i, r] of results.entries()) {
        expect(r).toHaveLength(25);
        const records = await log.read({ from: r[0]!.offset, limit: 1 });
        expect(records[0]!.event.id).toBe(batches[i]![0]!.id);
      }
      expect((await log.stats()).count).toBe(500);
    });

    it('assigns partitions from partitionkey, else subject, else source, and keeps per-key order', async () => {
      const log = await open({ partitions: 8 });
      const events = [
        makeEvent({ partitionkey: 'k1', subject: 'ignored' }),
        makeEvent({ subject: 'web-1' }),
        makeEvent({ source: '/only-source' }),
      ];
      const results = await log.append(events);
      for (const [i, ev] of events.entries()) {
        const r = results[i]!;
        expect(r.status).toBe('accepted');
        if (r.status === 'accepted') expect(r.partition).toBe(partitionOf(partitionKeyOf(ev), 8));
      }
      const keyed = Array.from({ length: 50 }, (_, i) => makeEvent({ subject: `k${i % 5}` }));
      await log.append(keyed);
      const all = await readAll(log);
      const p = partitionOf('k3', 8);
      const only = await log.read({ partitions: [p], limit: 1000 });
      expect(only.every((r) => r.partition === p)).toBe(true);
      const k3 = only.filter((r) => r.partitionKey === 'k3').map((r) => r.event.id);
      expect(k3).toEqual(keyed.filter((e) => e.subject === 'k3').map((e) => e.id));
      expect(all.find((r) => r.event.id === events[0]!.id)?.partitionKey).toBe('k1');
    });

    it('reads from an offset, with a limit', async () => {
      const log = await open();
      const r = await log.append(Array.from({ length: 10 }, () => makeEvent()));
      const from = r[4]!.offset!;
      const page = await log.read({ from, limit: 3 });
      expect(page.map((x) => x.offset)).toEqual([r[4]!.offset, r[5]!.offset, r[6]!.offset]);
    });

    timed('finds offsets by append time and queries by time range', async () => {
      const log = await open();
      const t0 = clock.now();
      const a = await log.append([makeEvent()]);
      clock.advance(1_000);
      const b = await log.append([makeEvent()]);
      clock.advance(1_000);
      await log.append([makeEvent()]);
      expect(await log.offsetAt(t0 + 500)).toBe(b[0]!.offset);
      expect(await log.offsetAt(t0)).toBe(a[0]!.offset);
      expect(await log.offsetAt(t0 + 10_000)).toBe((await log.stats()).nextOffset);
      const mid = await log.query({ since: t0 + 500, until: t0 + 1_500 });
      expect(mid.map((x) => x.offset)).toEqual([b[0]!.offset]);
    });

    it('queries by type, source and subject with cursor paging in both directions', async () => {
      const log = await open();
      await log.append([
        makeEvent({ type: 'a', source: '/x', subject: 's1' }),
        makeEvent({ type: 'b', source: '/x', subject: 's2' }),
        makeEvent({ type: 'a', source: '/y', subject: 's1' }),
        makeEvent({ type: 'a', source: '/x', subject: 's2' }),
      ]);
      expect((await log.query({ types: ['a'] })).length).toBe(3);
      expect((await log.query({ types: ['a'], sources: ['/x'] })).length).toBe(2);
      expect((await log.query({ subjects: ['s2'] })).map((r) => r.event.type)).toEqual(['b', 'a']);
      const page1 = await log.query({ types: ['a'], limit: 2 });
      const page2 = await log.query({ types: ['a'], limit: 2, after: page1[1]!.offset });
      expect(page1.length + page2.length).toBe(3);
      expect(page2[0]!.offset).toBeGreaterThan(page1[1]!.offset);
      const desc = await log.query({ types: ['a'], order: 'desc', limit: 2 });
      expect(desc[0]!.offset).toBeGreaterThan(desc[1]!.offset);
      const rest = await log.query({ types: ['a'], order: 'desc', after: desc[1]!.offset });
      expect(rest.length).toBe(1);
    });

    it('stores committed offsets per consumer, moving only forward unless reset', async () => {
      const log = await open();
      expect(await log.committedOffset('c1')).toBeUndefined();
      await log.commitOffset('c1', 10);
      await log.commitOffset('c1', 5);
      expect(await log.committedOffset('c1')).toBe(10);
      await log.commitOffset('c1', 3, true);
      expect(await log.committedOffset('c1')).toBe(3);
      await log.commitOffset('c2', 7);
      expect(await log.committedOffset('c2')).toBe(7);
    });

    it('keeps events, offsets and dedup state across a restart', async () => {
      const h = await options.create({ clock: createManualClock(Date.UTC(2026, 10, 24)) });
      const ev = makeEvent();
      const [r] = await h.log.append([ev]);
      await h.log.commitOffset('c', 42);
      await h.log.close();
      const h2 = await h.reopen();
      harnesses.push(h2);
      expect((await h2.log.read()).map((x) => x.event)).toEqual([ev]);
      expect((await h2.log.append([ev]))[0]!.status).toBe('duplicate');
      const [next] = await h2.log.append([makeEvent()]);
      expect(next!.offset!).toBeGreaterThan(r!.offset!);
      expect(await h2.log.committedOffset('c')).toBe(42);
    });

    it('removes the oldest events beyond maxBytes and reads start at the first retained', async () => {
      const log = await open({ maxBytes: 2_000 });
      const results = [];
      for (let i = 0; i < 40; i++) results.push(...(await log.append([makeEvent({ data: 'x'.repeat(100) })])));
      await log.enforceRetention();
      const stats = await log.stats();
      expect(stats.bytes).toBeLessThanOrEqual(2_000);
      expect(stats.count).toBeLessThan(40);
      expect(stats.firstOffset).toBeGreaterThan(results[0]!.offset!);
      const all = await readAll(log);
      expect(all[0]!.offset).toBe(stats.firstOffset);
      expect(all[all.length - 1]!.offset).toBe(results[39]!.offset);
    });

    timed('removes events older than maxAge', async () => {
      const log = await open({ maxAgeMs: 60_000 });
      await log.append([makeEvent(), makeEvent()]);
      clock.advance(61_000);
      const [fresh] = await log.append([makeEvent()]);
      const { removed } = await log.enforceRetention();
      expect(removed).toBe(2);
      expect((await readAll(log)).map((r) => r.offset)).toEqual([fresh!.offset]);
    });

    it('follows new events live, with a filter, until aborted', async () => {
      const log = await open();
      await log.append([makeEvent({ type: 'old' })]);
      const controller = new AbortController();
      const seen: string[] = [];
      const done = (async () => {
        for await (const rec of log.follow({ types: ['want'], signal: controller.signal })) {
          seen.push(rec.event.id);
          if (seen.length === 2) controller.abort();
        }
      })();
      await new Promise((r) => setTimeout(r, 20));
      const a = makeEvent({ type: 'want' });
      await log.append([makeEvent({ type: 'other' }), a]);
      const b = makeEvent({ type: 'want' });
      await log.append([b]);
      await done;
      expect(seen).toEqual([a.id, b.id]);
    });

    it('follows from an offset: history first, then live', async () => {
      const log = await open();
      const [first] = await log.append([makeEvent(), makeEvent()]);
      const controller = new AbortController();
      const seen: number[] = [];
      const done = (async () => {
        for await (const rec of log.follow({ from: first!.offset!, signal: controller.signal })) {
          seen.push(rec.offset);
          if (seen.length === 3) controller.abort();
        }
      })();
      const [third] = await log.append([makeEvent()]);
      await done;
      expect(seen[0]).toBe(first!.offset);
      expect(seen[2]).toBe(third!.offset);
    });

    it('rejects events whose source, id or type hold control characters, appending none of the batch', async () => {
      const log = await open();
      await expect(log.append([makeEvent(), makeEvent({ id: 'a\u0001b' })])).rejects.toMatchObject({
        code: 'E_EVENT_INVALID',
      });
      expect((await log.stats()).count).toBe(0);
    });

    it('reports itself healthy while open and not after close', async () => {
      const log = await open();
      expect(log.health()).toEqual([]);
    });

    it('rejects calls after close with E_CLOSED', async () => {
      const h = await options.create({ clock: createManualClock(0) });
      expect(h.log.health()).toEqual([]);
      await h.log.close();
      expect(h.log.health().length).toBeGreaterThan(0);
      await expect(h.log.append([makeEvent()])).rejects.toMatchObject({ code: 'E_CLOSED' });
      await h.destroy();
    });
  });
}
