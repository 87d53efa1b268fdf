/**
 * @module Lockstep driving of a virtual clock against the real engine: the event log is wrapped to
 * see every append (a tap for measurements) and how far the router has read; the driver advances
 * the clock one step, then waits until the engine has caught up (every append done, the router
 * past the last appended record, and no append for a short quiet period) before the next step.
 * Virtual time therefore never runs ahead of the engine: its processing time is not charged to
 * simulated time, and its reactions land at the end of the step the causing event fell in.
 */
import type { CloudEvent } from '../../../src/core/event.js';
import type { AppendResult, EventLog, FollowOptions, LogRecord } from '../../../src/ports/event-log.js';
import type { VirtualClock } from '../../../src/providers/sim/clock.js';

/** Sees each appended event with the time of the virtual clock when it was appended. */
export type Tap = (event: CloudEvent) => void;

export interface Lockstep {
  /** For EmbeddedOptions.decorateLog. */
  decorate(log: EventLog): EventLog;
  /** Resolves once the engine has caught up (see the module header); false after `maxMs` without. */
  settle(quietMs: number, maxMs?: number): Promise<boolean>;
  /** Records appended so far. */
  readonly appended: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createLockstep(tap: Tap): Lockstep {
  let pending = 0;
  let appended = 0;
  let lastOffset = -1;
  let lastAppendAt = performance.now();
  /** Offset the router has finished with: the record before its current `next()`. */
  let routed = -1;

  const wrapFollow = (inner: AsyncIterable<LogRecord>): AsyncIterable<LogRecord> => ({
    [Symbol.asyncIterator]() {
      const it = inner[Symbol.asyncIterator]();
      let last = -1;
      return {
        async next() {
          if (last > routed) routed = last;
          const r = await it.next();
          if (!r.done) last = r.value.offset;
          return r;
        },
        return: async (value?: unknown) => (it.return ? it.return(value) : { done: true as const, value: undefined }),
      } as AsyncIterator<LogRecord>;
    },
  });

  return {
    get appended() {
      return appended;
    },
    decorate(log) {
      return {
        async append(events: readonly CloudEvent[], encoded?: readonly string[]): Promise<AppendResult[]> {
          pending++;
          try {
            const results = await log.append(events, encoded);
            results.forEach((r, i) => {
              if (r.status !== 'accepted') return;
              appended++;
              if (r.offset > lastOffset) lastOffset = r.offset;
              tap(events[i]!);
            });
            return results;
          } finally {
            pending--;
            lastAppendAt = performance.now();
          }
        },
        read: (o) => log.read(o),
        offsetAt: (t) => log.offsetAt(t),
        query: (o) => log.query(o),
        follow: (o?: FollowOptions) => {
          const inner = log.follow(o);
          // Only the router follows every type; the others (cost tracker, waits) filter.
          return o?.types === undefined && o?.from !== undefined ? wrapFollow(inner) : inner;
        },
        commitOffset: (c, off, reset) => log.commitOffset(c, off, reset),
        committedOffset: (c) => log.committedOffset(c),
        enforceRetention: () => log.enforceRetention(),
        stats: () => log.stats(),
        health: () => log.health(),
        close: () => log.close(),
      } as EventLog;
    },
    async settle(quietMs, maxMs = 30_000) {
      const started = performance.now();
      await new Promise((r) => setImmediate(r));
      for (;;) {
        const now = performance.now();
        // The router asked for the record after the last one appended: it has finished with all.
        if (pending === 0 && routed >= lastOffset && now - lastAppendAt >= quietMs) return true;
        if (now - started > maxMs) return false;
        await sleep(Math.max(1, Math.min(quietMs, quietMs - (now - lastAppendAt))));
      }
    },
  };
}

/** Advances `clock` by `stepMs` until `endAt`, settling after each step; `onStep` after each settle. */
export async function driveLockstep(
  clock: VirtualClock,
  lockstep: Lockstep,
  o: {
    readonly stepMs: number;
    readonly endAt: number;
    readonly quietMs: number;
    onStep?: (now: number) => void | Promise<void>;
  },
): Promise<{ steps: number; unsettled: number }> {
  let steps = 0;
  let unsettled = 0;
  while (clock.now() < o.endAt) {
    clock.advance(Math.min(o.stepMs, o.endAt - clock.now()));
    if (!(await lockstep.settle(o.quietMs))) unsettled++;
    await o.onStep?.(clock.now());
    steps++;
  }
  return { steps, unsettled };
}
