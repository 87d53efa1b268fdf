/** @module Reads a time range of the log page by page, for backtests and replays. */
import type { EventLog, LogRecord } from '../ports/event-log.js';

export interface LogRange {
  /** Append time lower bound (ms, inclusive). */
  readonly since: number;
  /** Append time upper bound (ms, exclusive); default: now. */
  readonly until?: number;
}

export interface RangeProgress {
  readonly scanned: number;
  /** Estimated total (offset span; exact for logs with contiguous offsets). */
  readonly total: number;
}

/** Yields the records of the range in offset order, pages of 1,000. */
export async function* readRange(
  log: EventLog,
  range: LogRange,
  signal?: AbortSignal,
): AsyncGenerator<LogRecord[], void, void> {
  let from = await log.offsetAt(range.since);
  const end = range.until === undefined ? (await log.stats()).nextOffset : await log.offsetAt(range.until);
  while (from < end && !signal?.aborted) {
    const page = await log.read({ from, limit: 1_000 });
    const inRange = page.filter((r) => r.offset < end);
    if (inRange.length === 0) return;
    yield inRange;
    from = inRange[inRange.length - 1]!.offset + 1;
  }
}

/** The offset span of a range, for progress. */
export async function rangeSize(log: EventLog, range: LogRange): Promise<number> {
  const from = await log.offsetAt(range.since);
  const end = range.until === undefined ? (await log.stats()).nextOffset : await log.offsetAt(range.until);
  return Math.max(0, end - from);
}
