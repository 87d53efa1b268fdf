/**
 * @module The descendants of an event: every event whose `causationid` chain leads to it, found
 * by reading the log forward from it in pages over a bounded window (events and append time),
 * since the log has no index by causation. An effect can be appended before its cause (an
 * action's infrastructure events come before the action's own event, which is published when
 * `perform` returns), so events whose cause is not known yet are kept for a while and adopted
 * when their cause turns up.
 */
import type { EventLog, LogRecord } from '../../ports/event-log.js';

export interface Descendants {
  /** The events caused directly by `id`, in log order. */
  children(id: string): readonly LogRecord[];
  /** Events read. */
  readonly scanned: number;
  readonly fromOffset: number;
  /** The last offset read (`fromOffset - 1` when nothing was read). */
  readonly toOffset: number;
  /** True when the scan stopped before the end of the log. */
  readonly truncated: boolean;
  readonly reason?: 'max-events' | 'window';
}

export interface CollectOptions {
  readonly maxEvents: number;
  readonly windowMs: number;
  /** Start this long (append time) before the root: for a root whose effects may precede it. */
  readonly lookbehindMs?: number;
}

const PAGE = 1_000;
/** How long (append time) an event whose cause is unknown waits for that cause to appear. */
const ORPHAN_MS = 60_000;

export async function collectDescendants(log: EventLog, root: LogRecord, o: CollectOptions): Promise<Descendants> {
  const byCause = new Map<string, LogRecord[]>();
  const known = new Set<string>([root.event.id]);
  const orphans = new Map<string, LogRecord[]>();
  /** Orphans in arrival order, for expiry: [appendedAt, causationid, record]. */
  const orphanQueue: [number, string, LogRecord][] = [];
  let orphanHead = 0;

  const adopt = (rec: LogRecord): void => {
    const stack = [rec];
    while (stack.length > 0) {
      const r = stack.pop()!;
      const cause = r.event.causationid!;
      const list = byCause.get(cause);
      if (list) list.push(r);
      else byCause.set(cause, [r]);
      if (known.has(r.event.id)) continue;
      known.add(r.event.id);
      const waiting = orphans.get(r.event.id);
      if (waiting) {
        orphans.delete(r.event.id);
        stack.push(...waiting);
      }
    }
  };

  const expire = (now: number): void => {
    while (orphanHead < orphanQueue.length && orphanQueue[orphanHead]![0] < now - ORPHAN_MS) {
      const [, cause, rec] = orphanQueue[orphanHead++]!;
      const list = orphans.get(cause);
      if (list) {
        const i = list.indexOf(rec);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) orphans.delete(cause);
      }
    }
    if (orphanHead > 4_096 && orphanHead * 2 > orphanQueue.length) {
      orphanQueue.splice(0, orphanHead);
      orphanHead = 0;
    }
  };

  const fromOffset =
    o.lookbehindMs === undefined
      ? root.offset
      : Math.min(root.offset, await log.offsetAt(root.appendedAt - o.lookbehindMs));
  const end = root.appendedAt + o.windowMs;
  let from = fromOffset;
  let toOffset = fromOffset - 1;
  let scanned = 0;
  let reason: Descendants['reason'];
  for (;;) {
    const limit = Math.min(PAGE, o.maxEvents - scanned);
    if (limit <= 0) {
      // Stopped at the cap: truncated only if something is left to read.
      if ((await log.read({ from, limit: 1 })).length > 0) reason = 'max-events';
      break;
    }
    const page = await log.read({ from, limit });
    for (const rec of page) {
      if (rec.appendedAt > end && rec.offset > root.offset) {
        reason = 'window';
        break;
      }
      scanned++;
      toOffset = rec.offset;
      const cause = rec.event.causationid;
      if (cause === undefined || rec.offset === root.offset) continue;
      if (known.has(cause)) adopt(rec);
      else {
        const list = orphans.get(cause);
        if (list) list.push(rec);
        else orphans.set(cause, [rec]);
        orphanQueue.push([rec.appendedAt, cause, rec]);
      }
      expire(rec.appendedAt);
    }
    if (reason !== undefined || page.length < limit) break;
    from = page[page.length - 1]!.offset + 1;
  }
  for (const list of byCause.values()) list.sort((a, b) => a.offset - b.offset);
  return {
    children: (id) => byCause.get(id) ?? [],
    scanned,
    fromOffset,
    toOffset,
    truncated: reason !== undefined,
    ...(reason === undefined ? {} : { reason }),
  };
}
