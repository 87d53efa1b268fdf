/**
 * @module EventLog: the durable, partitioned, append-only event log.
 *
 * Contract (every backend passes test/conformance/event-log.ts):
 * - Offsets: `append` gives each new event an offset. Offsets are integers that strictly increase
 *   in append order across the whole log (not necessarily contiguous: a backend may skip values).
 *   Per-partition order is the order of offsets, so reading in offset order and filtering by
 *   partition delivers each key's events in the order they were appended.
 * - Durability: the promise returned by `append` resolves only after every `accepted` record is
 *   durable as the backend's fsync setting defines it; a record reported `accepted` is never lost
 *   by a process crash. On rejection (error) nothing in that call may be assumed durable; a retry
 *   of the same events is safe because of duplicate suppression.
 * - Duplicates: an event whose `(source, id)` was appended within the dedup window is reported
 *   `duplicate` with the original offset (when the backend knows it) and is not appended again;
 *   this holds inside one batch too. After the window a repeat is appended as a new event.
 * - Concurrency: `append` may be called concurrently; the backend may group concurrent calls into
 *   one commit (group commit). Results keep the input order of each call.
 * - Retention: events older than `maxAge` (by append time) or beyond `maxBytes` (oldest first) are
 *   removed by `enforceRetention` (backends whose server enforces retention continuously may do
 *   nothing there). Retention may remove events in units the backend stores together (a segment,
 *   a commit), oldest first, never a newer event before an older one. Reads from an offset that
 *   retention removed start at the first retained one.
 * - Consumers: `commitOffset` stores, per consumer name, the offset of the next record to read;
 *   it only moves forward (a smaller value is ignored) unless `reset` is set.
 * - Errors: HomeostatError with code E_BACKEND (retryable) or E_CLOSED after `close`.
 */
import type { CloudEvent } from '../core/event.js';

/** An event as stored in the log. */
export interface LogRecord {
  readonly offset: number;
  readonly partition: number;
  readonly partitionKey: string;
  /** Append time, ms since the epoch, by the log's clock. Non-decreasing in offset order. */
  readonly appendedAt: number;
  readonly event: CloudEvent;
}

export type AppendResult =
  | {
      readonly status: 'accepted';
      readonly offset: number;
      readonly partition: number;
    }
  | {
      readonly status: 'duplicate';
      /** The offset of the first copy, when the backend can tell it. */
      readonly offset?: number;
    };

export interface ReadOptions {
  /** The first offset to return (inclusive). Default: the first retained offset. */
  readonly from?: number;
  /** At most this many records. Default 100, at most 10,000. */
  readonly limit?: number;
  /** Only these partitions. Default: all. */
  readonly partitions?: readonly number[];
}

export interface QueryFilter {
  readonly types?: readonly string[];
  readonly sources?: readonly string[];
  readonly subjects?: readonly string[];
  /** Append time lower bound, ms since the epoch (inclusive). */
  readonly since?: number;
  /** Append time upper bound, ms since the epoch (exclusive). */
  readonly until?: number;
}

export interface QueryOptions extends QueryFilter {
  /** Paging cursor: return records after this offset (asc) or before it (desc). */
  readonly after?: number;
  readonly order?: 'asc' | 'desc';
  /** Default 100, at most 1,000. */
  readonly limit?: number;
}

export interface LogStats {
  /** The first retained offset, or `nextOffset` when the log is empty. */
  readonly firstOffset: number;
  /** The offset the next appended event will get at the least. */
  readonly nextOffset: number;
  readonly count: number;
  /** Stored bytes of retained events (the serialized envelopes). */
  readonly bytes: number;
  readonly partitions: number;
  /** Backend-specific state of duplicate suppression, when the backend keeps it itself. */
  readonly dedup?: {
    readonly keys: number;
    /** Append time of the oldest remembered key: the effective window starts there. */
    readonly oldestAt: number | undefined;
    /** Keys forgotten before their window ended because of a memory cap. */
    readonly evictedEarly: number;
  };
}

export interface FollowOptions extends QueryFilter {
  /** Start at this offset; default: only events appended from now on. */
  readonly from?: number;
  /** Only these partitions (a cluster node routes the partitions it owns). Default: all. */
  readonly partitions?: readonly number[];
  readonly signal?: AbortSignal;
}

export interface EventLog {
  /**
   * Appends a batch; see the contract for durability, duplicates and grouping. `encoded`, when
   * given, holds each event's JSON text as received (same order); a backend may store it instead
   * of serializing the event again.
   */
  append(events: readonly CloudEvent[], encoded?: readonly string[]): Promise<AppendResult[]>;
  /** Reads records in offset order. */
  read(options?: ReadOptions): Promise<LogRecord[]>;
  /** The first offset whose append time is at or after `time` (or `nextOffset` if none). */
  offsetAt(time: number): Promise<number>;
  /** Filtered, paged query in offset order (asc or desc). */
  query(options?: QueryOptions): Promise<LogRecord[]>;
  /** Yields matching records from `from` on, then new ones as they are appended, until aborted. */
  follow(options?: FollowOptions): AsyncIterable<LogRecord>;
  commitOffset(consumer: string, offset: number, reset?: boolean): Promise<void>;
  /** The committed offset of a consumer, or undefined if it never committed. */
  committedOffset(consumer: string): Promise<number | undefined>;
  enforceRetention(): Promise<{ readonly removed: number }>;
  stats(): Promise<LogStats>;
  /** Reasons the log cannot take appends now (closed, backend lost); empty when it can. Cheap. */
  health(): readonly string[];
  close(): Promise<void>;
}

/** Retention and dedup settings every backend takes. */
export interface EventLogOptions {
  /** Number of partitions keys are hashed into. Fixed for the life of a log. Default 16. */
  readonly partitions: number;
  /** Duplicate-suppression window in ms. Default 24 h. */
  readonly dedupWindowMs: number;
  /** Remove events older than this (ms); 0 keeps them. */
  readonly maxAgeMs: number;
  /** Keep at most this many bytes of events; 0 for no limit. */
  readonly maxBytes: number;
}
