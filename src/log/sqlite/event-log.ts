/**
 * @module SqliteEventLog: the embedded EventLog backend on one SQLite file.
 *
 * Concurrent appends are queued and committed together (group commit): one commit per turn of the
 * event loop, or, with the writer thread, one per round trip to it while appends keep arriving.
 * Each commit stores its new events as one chunk row (a JSON array of the events' JSON texts as
 * received), so a commit's cost barely depends on how many events it holds. Reads use this
 * thread's connection; writes go through the ChunkWriter (inline, or on the writer thread).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import { hasControlCharacters, partitionKeyOf, partitionOf } from '../../core/event.js';
import type { AppendResult, EventLog, EventLogOptions, LogStats } from '../../ports/event-log.js';
import type { FsyncMode, SqliteDatabase } from '../../store/sqlite/database.js';
import { openDatabase } from '../../store/sqlite/database.js';
import { CHUNK_MIGRATIONS, createChunkReader } from './chunks.js';
import { followLog } from './follow.js';
import { FIELD_SEPARATOR, type WriterSettings } from './writer.js';
import { createInlineWriter, createThreadWriter, type WriterClient } from './writer-client.js';

export interface SqliteEventLogOptions extends Partial<EventLogOptions> {
  /** The database file, or ':memory:' (always inline). */
  readonly path: string;
  readonly fsync?: FsyncMode;
  readonly clock?: Clock;
  /** At most this many dedup keys are kept in memory (16 to 64 bytes each). Default 2,000,000. */
  readonly dedupMaxKeys?: number;
  /** Run SQLite writes on a worker thread, so they use another core than HTTP and parsing. Default true. */
  readonly writerThread?: boolean;
}

interface PendingAppend {
  readonly events: readonly CloudEvent[];
  readonly encoded: readonly string[] | undefined;
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (err: unknown) => void;
}

/** Least time between the starts of two commits (writer thread only). */
const MIN_COMMIT_GAP_MS = 1;
/** Queued events that start a commit at once (writer thread only). */
const EARLY_FLUSH_EVENTS = 1_000;

/** Opens (or creates) an embedded event log. */
export async function createSqliteEventLog(options: SqliteEventLogOptions): Promise<EventLog> {
  const fsync = options.fsync ?? 'normal';
  const db = openDatabase({ path: options.path, fsync, migrations: CHUNK_MIGRATIONS, what: 'event log' });
  const clock = options.clock ?? systemClock;
  const partitions = fixPartitions(db, options.partitions ?? 16, options.path);
  const reader = createChunkReader(db, partitions);
  const committed = db.prepare<[string], { offset: number }>('SELECT "offset" FROM consumers WHERE name = ?');
  const settings: WriterSettings = {
    dedupWindowMs: options.dedupWindowMs ?? 86_400_000,
    dedupMaxKeys: options.dedupMaxKeys ?? 2_000_000,
    maxAgeMs: options.maxAgeMs ?? 0,
    maxBytes: options.maxBytes ?? 0,
    now: clock.now(),
  };
  const threaded = (options.writerThread ?? true) && options.path !== ':memory:';
  let writer: WriterClient;
  try {
    writer = threaded
      ? await createThreadWriter({ path: options.path, fsync, settings })
      : createInlineWriter(db, settings);
  } catch (err) {
    db.close();
    throw err;
  }
  let nextOffset = (await writer.stats()).nextOffset;
  const signals = new EventEmitter();
  signals.setMaxListeners(0);
  let queue: PendingAppend[] = [];
  let scheduled = false;
  let queuedEvents = 0;
  let lastFlushAt = 0;
  let inFlight = 0;
  let closed = false;
  // With the writer thread, further commits may wait in its queue while one runs, so that parsing
  // here and writing there overlap instead of taking turns (a few suffice; more gained nothing).
  const maxInFlight = threaded ? 4 : 1;

  function schedule(): void {
    if (scheduled || inFlight >= maxInFlight || queue.length === 0) return;
    scheduled = true;
    // Commits at most every MIN_COMMIT_GAP_MS with the writer thread: thousands of tiny commits a
    // second multiply WAL pages and checkpoint work and show up as latency spikes. Light traffic
    // does not wait: only a commit that follows another within the gap is delayed.
    const wait = threaded ? MIN_COMMIT_GAP_MS - (performance.now() - lastFlushAt) : 0;
    if (wait > 0) setTimeout(() => void flush(), wait);
    else setImmediate(() => void flush());
  }

  async function flush(): Promise<void> {
    scheduled = false;
    const group = queue;
    queue = [];
    queuedEvents = 0;
    if (group.length === 0) return;
    lastFlushAt = performance.now();
    inFlight += 1;
    const sizes: number[] = [];
    let packed = '';
    const S = FIELD_SEPARATOR;
    for (const p of group) {
      const { events, encoded } = p;
      sizes.push(events.length);
      for (let i = 0; i < events.length; i++) {
        const ev = events[i]!;
        const text = encoded?.[i] ?? JSON.stringify(ev);
        packed += `${packed.length === 0 ? '' : S}${ev.source}${S}${ev.id}${S}${ev.type}${S}${text}`;
      }
    }
    try {
      const codes = await writer.append({ packed, sizes, now: clock.now() });
      let k = 0;
      for (const p of group) p.resolve(p.events.map((ev) => toResult(ev, codes[k++]!)));
      signals.emit('appended');
    } catch (err) {
      for (const p of group) p.reject(err);
    } finally {
      inFlight -= 1;
      if (queue.length > 0) schedule();
      else if (inFlight === 0) signals.emit('idle');
    }
  }

  function toResult(ev: CloudEvent, code: number): AppendResult {
    if (code < 0) return { status: 'duplicate', offset: -code };
    if (code >= nextOffset) nextOffset = code + 1;
    return { status: 'accepted', offset: code, partition: partitionOf(partitionKeyOf(ev), partitions) };
  }

  function closedError(): HomeostatError {
    return new HomeostatError(ErrorCode.CLOSED, 'the event log is closed');
  }

  function ensureOpen(): void {
    if (closed) throw closedError();
  }

  const api: EventLog = {
    append(events, encoded) {
      if (closed) return Promise.reject(closedError());
      if (events.length === 0) return Promise.resolve([]);
      const bad = events.findIndex(
        (ev) => hasControlCharacters(ev.source) || hasControlCharacters(ev.id) || hasControlCharacters(ev.type),
      );
      if (bad >= 0) {
        return Promise.reject(
          new HomeostatError(
            ErrorCode.EVENT_INVALID,
            `event ${bad}: source, id and type must not contain control characters`,
          ),
        );
      }
      return new Promise((resolve, reject) => {
        queue.push({ events, encoded, resolve, reject });
        queuedEvents += events.length;
        // With a writer thread, start a commit as soon as enough is queued, while this thread goes
        // on parsing the rest of a burst; otherwise commit once per turn of the event loop.
        if (threaded && queuedEvents >= EARLY_FLUSH_EVENTS && inFlight < maxInFlight) void flush();
        else schedule();
      });
    },

    async read(opts = {}) {
      ensureOpen();
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 10_000);
      return reader.scan({ from: opts.from, partitions: opts.partitions }, 'asc', limit);
    },

    async offsetAt(time) {
      ensureOpen();
      return reader.offsetAt(time, nextOffset);
    },

    async query(opts = {}) {
      ensureOpen();
      const order = opts.order ?? 'asc';
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1_000);
      let from = opts.since === undefined ? undefined : reader.offsetAt(opts.since, nextOffset);
      let to = opts.until === undefined ? undefined : reader.offsetAt(opts.until, nextOffset);
      if (opts.after !== undefined) {
        if (order === 'asc') from = Math.max(from ?? 0, opts.after + 1);
        else to = Math.min(to ?? Number.MAX_SAFE_INTEGER, opts.after);
      }
      return reader.scan({ ...opts, from, to }, order, limit);
    },

    follow(opts = {}) {
      return followLog(
        api,
        signals,
        () => closed,
        () => reader.firstOffset(nextOffset),
        nextOffset,
        opts,
      );
    },

    async commitOffset(consumer, offset, reset = false) {
      ensureOpen();
      await writer.commitOffset(consumer, offset, reset, clock.now());
    },

    async committedOffset(consumer) {
      ensureOpen();
      return committed.get(consumer)?.offset;
    },

    async enforceRetention() {
      ensureOpen();
      return { removed: await writer.enforceRetention(clock.now()) };
    },

    health() {
      if (closed) return ['event log closed'];
      const failure = writer.failure();
      return failure === undefined ? [] : [failure];
    },

    async stats(): Promise<LogStats> {
      ensureOpen();
      const w = await writer.stats();
      return {
        firstOffset: reader.firstOffset(w.nextOffset),
        nextOffset: w.nextOffset,
        count: w.count,
        bytes: w.bytes,
        partitions,
        dedup: w.dedup,
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      if (inFlight > 0 || queue.length > 0) {
        schedule();
        await new Promise((resolve) => signals.once('idle', resolve));
      }
      signals.emit('closed');
      await writer.close();
      db.close();
    },
  };
  return api;
}

/** The partition count is fixed at creation: changing it would break per-key order. */
function fixPartitions(db: SqliteDatabase, wanted: number, path: string): number {
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > 4096) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `log.partitions: ${wanted} is not allowed; use an integer from 1 to 4096`,
    );
  }
  const row = db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'partitions'`).get();
  if (row === undefined) {
    db.prepare(`INSERT INTO meta (key, value) VALUES ('partitions', ?)`).run(String(wanted));
    return wanted;
  }
  const stored = Number(row.value);
  if (stored !== wanted) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `log.partitions: the log at ${path} was created with ${stored} partitions, the configuration asks for ${wanted}; set log.partitions to ${stored} (the count cannot change without breaking per-key order)`,
    );
  }
  return stored;
}
