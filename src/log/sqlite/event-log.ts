/** @module SqliteEventLog: the embedded EventLog backend on one SQLite file, with group commit. */
import { EventEmitter } from 'node:events';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import { partitionKeyOf, partitionOf } from '../../core/event.js';
import type {
  AppendResult,
  EventLog,
  EventLogOptions,
  FollowOptions,
  LogStats,
  QueryOptions,
  ReadOptions,
} from '../../ports/event-log.js';
import type { FsyncMode, SqliteDatabase } from '../../store/sqlite/database.js';
import { openDatabase } from '../../store/sqlite/database.js';
import { createDedupIndex } from '../dedup-index.js';
import { compileQuery, type EventRow, toRecord } from './query.js';

const MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE events (
     "offset" INTEGER PRIMARY KEY,
     partition INTEGER NOT NULL,
     partition_key TEXT NOT NULL,
     appended_at INTEGER NOT NULL,
     type TEXT NOT NULL,
     source TEXT NOT NULL,
     event_id TEXT NOT NULL,
     subject TEXT,
     size INTEGER NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX events_type ON events(type);
   CREATE TABLE consumers (name TEXT PRIMARY KEY, "offset" INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE counters (id INTEGER PRIMARY KEY CHECK (id = 0), next_offset INTEGER NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL);
   INSERT INTO counters VALUES (0, 1, 0, 0);`,
];

export interface SqliteEventLogOptions extends Partial<EventLogOptions> {
  /** The database file, or ':memory:'. */
  readonly path: string;
  readonly fsync?: FsyncMode;
  readonly clock?: Clock;
  /** At most this many dedup keys are kept in memory (about 100 bytes each). Default 2,000,000. */
  readonly dedupMaxKeys?: number;
}

interface PendingAppend {
  readonly events: readonly CloudEvent[];
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (err: unknown) => void;
}

const RETENTION_CHUNK = 5_000;

/** Opens (or creates) an embedded event log. */
export function createSqliteEventLog(options: SqliteEventLogOptions): EventLog {
  const db = openDatabase({
    path: options.path,
    fsync: options.fsync ?? 'normal',
    migrations: MIGRATIONS,
    what: 'event log',
  });
  const clock = options.clock ?? systemClock;
  const partitions = fixPartitions(db, options.partitions ?? 16, options.path);
  const dedupWindowMs = options.dedupWindowMs ?? 86_400_000;
  const maxAgeMs = options.maxAgeMs ?? 0;
  const maxBytes = options.maxBytes ?? 0;

  const stmt = {
    insert: db.prepare(
      `INSERT INTO events ("offset", partition, partition_key, appended_at, type, source, event_id, subject, size, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    recentKeys: db.prepare<[number], { offset: number; appended_at: number; source: string; event_id: string }>(
      `SELECT "offset", appended_at, source, event_id FROM events WHERE "offset" >= ? ORDER BY "offset"`,
    ),
    counters: db.prepare<[], { next_offset: number; count: number; bytes: number }>(
      'SELECT next_offset, count, bytes FROM counters WHERE id = 0',
    ),
    saveCounters: db.prepare('UPDATE counters SET next_offset = ?, count = ?, bytes = ? WHERE id = 0'),
    read: db.prepare<[number, number], EventRow>(
      `SELECT "offset", partition, partition_key, appended_at, body FROM events WHERE "offset" >= ? ORDER BY "offset" LIMIT ?`,
    ),
    appendedAt: db.prepare<[number], { appended_at: number }>(
      'SELECT appended_at FROM events WHERE "offset" >= ? ORDER BY "offset" LIMIT 1',
    ),
    first: db.prepare<[], { offset: number }>('SELECT "offset" FROM events ORDER BY "offset" LIMIT 1'),
    oldest: db.prepare<[number], { offset: number; size: number }>(
      'SELECT "offset", size FROM events ORDER BY "offset" LIMIT ?',
    ),
    deleteBelow: db.prepare<[number], { n: number; bytes: number }>(
      'DELETE FROM events WHERE "offset" < ? RETURNING size',
    ),
    commit: db.prepare(
      `INSERT INTO consumers (name, "offset", updated_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET "offset" = excluded."offset", updated_at = excluded.updated_at
       WHERE excluded."offset" > consumers."offset" OR ?`,
    ),
    committed: db.prepare<[string], { offset: number }>('SELECT "offset" FROM consumers WHERE name = ?'),
  };

  const counters = { ...stmt.counters.get()! };
  const dedup = createDedupIndex({ windowMs: dedupWindowMs, maxKeys: options.dedupMaxKeys ?? 2_000_000 });
  rebuildDedup();
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  let queue: PendingAppend[] = [];
  let flushScheduled = false;
  let closed = false;

  function appendOne(ev: CloudEvent, now: number): AppendResult {
    const offset = counters.next_offset;
    const original = dedup.lookup(ev.source, ev.id, now);
    if (original !== undefined) return { status: 'duplicate', offset: original };
    const key = partitionKeyOf(ev);
    const partition = partitionOf(key, partitions);
    const body = JSON.stringify(ev);
    const size = Buffer.byteLength(body);
    stmt.insert.run(offset, partition, key, now, ev.type, ev.source, ev.id, ev.subject ?? null, size, body);
    dedup.add(ev.source, ev.id, offset, now);
    counters.next_offset = offset + 1;
    counters.count += 1;
    counters.bytes += size;
    return { status: 'accepted', offset, partition };
  }

  const commitGroup = db.transaction((group: PendingAppend[], now: number) => {
    const results = group.map((p) => p.events.map((ev) => appendOne(ev, now)));
    stmt.saveCounters.run(counters.next_offset, counters.count, counters.bytes);
    return results;
  });

  function flush(): void {
    flushScheduled = false;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    const before = { ...counters };
    let results: AppendResult[][];
    try {
      results = commitGroup(group, clock.now());
    } catch (cause) {
      Object.assign(counters, before);
      rebuildDedup();
      const err = new HomeostatError(ErrorCode.BACKEND, `event log append failed: ${(cause as Error).message}`, {
        cause,
      });
      for (const p of group) p.reject(err);
      return;
    }
    for (const [i, p] of group.entries()) p.resolve(results[i]!);
    appended.emit('appended');
  }

  function closedError(): HomeostatError {
    return new HomeostatError(ErrorCode.CLOSED, 'the event log is closed');
  }

  /** Re-reads the keys of the events appended within the dedup window (at open, and after a failed commit). */
  function rebuildDedup(): void {
    dedup.clear();
    for (const row of stmt.recentKeys.iterate(offsetAtSync(clock.now() - dedupWindowMs))) {
      dedup.add(row.source, row.event_id, row.offset, row.appended_at);
    }
  }

  function ensureOpen(): void {
    if (closed) throw closedError();
  }

  function firstOffset(): number {
    return stmt.first.get()?.offset ?? counters.next_offset;
  }

  /** Binary search over offsets: append times are non-decreasing in offset order. */
  function offsetAtSync(time: number): number {
    let lo = firstOffset();
    let hi = counters.next_offset;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = stmt.appendedAt.get(mid);
      if (row === undefined || row.appended_at >= time) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  function deleteBelow(offset: number): number {
    let removed = 0;
    db.transaction(() => {
      const rows = stmt.deleteBelow.all(offset) as unknown as { size: number }[];
      removed = rows.length;
      counters.count -= rows.length;
      for (const r of rows) counters.bytes -= r.size;
      stmt.saveCounters.run(counters.next_offset, counters.count, counters.bytes);
    })();
    return removed;
  }

  function sizeCutoff(): number {
    let excess = counters.bytes - maxBytes;
    let cutoff = firstOffset();
    for (const row of stmt.oldest.iterate(RETENTION_CHUNK)) {
      if (excess <= 0) break;
      excess -= row.size;
      cutoff = row.offset + 1;
    }
    return cutoff;
  }

  function waitForAppend(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        appended.off('appended', done);
        appended.off('closed', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      appended.once('appended', done);
      appended.once('closed', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  const api: EventLog = {
    append(events) {
      if (closed) return Promise.reject(closedError());
      if (events.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        queue.push({ events, resolve, reject });
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },

    async read(opts: ReadOptions = {}) {
      ensureOpen();
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 10_000);
      if (opts.partitions) {
        return compileQuery(db, { partitions: opts.partitions, after: (opts.from ?? 0) - 1, limit })
          .all()
          .map(toRecord);
      }
      return stmt.read.all(opts.from ?? 0, limit).map(toRecord);
    },

    async offsetAt(time) {
      ensureOpen();
      return offsetAtSync(time);
    },

    async query(opts: QueryOptions = {}) {
      ensureOpen();
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1_000);
      const since = opts.since === undefined ? undefined : offsetAtSync(opts.since);
      const until = opts.until === undefined ? undefined : offsetAtSync(opts.until);
      return compileQuery(db, { ...opts, limit, fromOffset: since, toOffset: until })
        .all()
        .map(toRecord);
    },

    follow(opts: FollowOptions = {}) {
      return {
        async *[Symbol.asyncIterator]() {
          let cursor = opts.from ?? counters.next_offset;
          while (!closed && !opts.signal?.aborted) {
            const batch = await api.query({ ...opts, after: cursor - 1, order: 'asc', limit: 500 });
            for (const rec of batch) {
              cursor = rec.offset + 1;
              yield rec;
            }
            if (batch.length === 0) {
              if (cursor < firstOffset()) cursor = firstOffset();
              await waitForAppend(opts.signal);
            }
          }
        },
      };
    },

    async commitOffset(consumer, offset, reset = false) {
      ensureOpen();
      stmt.commit.run(consumer, offset, clock.now(), reset ? 1 : 0);
    },

    async committedOffset(consumer) {
      ensureOpen();
      return stmt.committed.get(consumer)?.offset;
    },

    async enforceRetention() {
      ensureOpen();
      const now = clock.now();
      let removed = 0;
      if (maxAgeMs > 0) removed += deleteBelow(offsetAtSync(now - maxAgeMs));
      while (maxBytes > 0 && counters.bytes > maxBytes) {
        const n = deleteBelow(sizeCutoff());
        removed += n;
        if (n === 0) break;
      }
      dedup.expire(now);
      return { removed };
    },

    async stats(): Promise<LogStats> {
      ensureOpen();
      return {
        firstOffset: firstOffset(),
        nextOffset: counters.next_offset,
        count: counters.count,
        bytes: counters.bytes,
        partitions,
        dedup: dedup.stats(),
      };
    },

    async close() {
      if (closed) return;
      if (queue.length > 0) flush();
      closed = true;
      appended.emit('closed');
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
