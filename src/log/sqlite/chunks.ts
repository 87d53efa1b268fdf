/**
 * @module Reading the chunk layout: one row per group commit holding its events as a JSON array.
 * Offsets inside a chunk are contiguous from `first_offset`; partitions are recomputed on read.
 */
import type { CloudEvent } from '../../core/event.js';
import { partitionKeyOf, partitionOf } from '../../core/event.js';
import type { LogRecord } from '../../ports/event-log.js';
import type { SqliteDatabase } from '../../store/sqlite/database.js';

export const CHUNK_MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE chunks (
     first_offset INTEGER PRIMARY KEY,
     last_offset INTEGER NOT NULL,
     appended_at INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     keys TEXT NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX chunks_time ON chunks(appended_at);
   CREATE TABLE chunk_types (type TEXT NOT NULL, first_offset INTEGER NOT NULL, PRIMARY KEY (type, first_offset)) WITHOUT ROWID;
   CREATE TABLE consumers (name TEXT PRIMARY KEY, "offset" INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE counters (id INTEGER PRIMARY KEY CHECK (id = 0), next_offset INTEGER NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL);
   INSERT INTO counters VALUES (0, 1, 0, 0);`,
];

export interface ChunkRow {
  readonly first_offset: number;
  readonly last_offset: number;
  readonly appended_at: number;
  readonly body: string;
}

/** What a scan keeps; all conditions must hold. */
export interface RecordFilter {
  readonly types?: readonly string[];
  readonly sources?: readonly string[];
  readonly subjects?: readonly string[];
  readonly partitions?: readonly number[];
  /** Offsets in [from, to). */
  readonly from?: number;
  readonly to?: number;
}

const PAGE = 32;

function anyOf(values: readonly string[] | undefined): ((v: string | undefined) => boolean) | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const set = new Set(values);
  return (v) => v !== undefined && set.has(v);
}

/** Builds the per-record predicate of a filter (offset bounds are applied by the scan). */
function predicate(f: RecordFilter, partitions: number): (ev: CloudEvent) => boolean {
  const type = anyOf(f.types);
  const source = anyOf(f.sources);
  const subject = anyOf(f.subjects);
  const parts = f.partitions && f.partitions.length > 0 ? new Set(f.partitions) : undefined;
  return (ev) =>
    (type === undefined || type(ev.type)) &&
    (source === undefined || source(ev.source)) &&
    (subject === undefined || subject(ev.subject)) &&
    (parts === undefined || parts.has(partitionOf(partitionKeyOf(ev), partitions)));
}

export interface ChunkReader {
  /** Records matching the filter in offset order (asc or desc), at most `limit`. */
  scan(filter: RecordFilter, order: 'asc' | 'desc', limit: number): LogRecord[];
  /** The first offset appended at or after `time`. */
  offsetAt(time: number, nextOffset: number): number;
  firstOffset(nextOffset: number): number;
}

export function createChunkReader(db: SqliteDatabase, partitions: number): ChunkReader {
  const stmt = {
    containing: db.prepare<[number], { first_offset: number }>(
      'SELECT first_offset FROM chunks WHERE first_offset <= ? ORDER BY first_offset DESC LIMIT 1',
    ),
    asc: db.prepare<[number, number], ChunkRow>(
      'SELECT first_offset, last_offset, appended_at, body FROM chunks WHERE first_offset >= ? ORDER BY first_offset LIMIT ?',
    ),
    desc: db.prepare<[number, number], ChunkRow>(
      'SELECT first_offset, last_offset, appended_at, body FROM chunks WHERE first_offset <= ? ORDER BY first_offset DESC LIMIT ?',
    ),
    atTime: db.prepare<[number], { first_offset: number; last_offset: number }>(
      'SELECT first_offset, last_offset FROM chunks WHERE appended_at >= ? ORDER BY appended_at, first_offset LIMIT 1',
    ),
    first: db.prepare<[], { first_offset: number }>('SELECT first_offset FROM chunks ORDER BY first_offset LIMIT 1'),
  };
  const typed = new Map<string, ReturnType<typeof db.prepare<unknown[], ChunkRow>>>();

  /** Chunks holding at least one of the types, by the chunk_types index. */
  function typedPage(types: readonly string[], order: 'asc' | 'desc', bound: number): ChunkRow[] {
    const key = `${order}:${types.length}`;
    let s = typed.get(key);
    if (s === undefined) {
      const cmp = order === 'asc' ? '>=' : '<=';
      s = db.prepare<unknown[], ChunkRow>(
        `SELECT first_offset, last_offset, appended_at, body FROM chunks WHERE first_offset IN (
           SELECT first_offset FROM chunk_types WHERE type IN (${types.map(() => '?').join(',')}) AND first_offset ${cmp} ?)
         ORDER BY first_offset ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${PAGE}`,
      );
      typed.set(key, s);
    }
    return s.all(...types, bound);
  }

  function page(filter: RecordFilter, order: 'asc' | 'desc', bound: number): ChunkRow[] {
    if (filter.types && filter.types.length > 0) return typedPage(filter.types, order, bound);
    return order === 'asc' ? stmt.asc.all(bound, PAGE) : stmt.desc.all(bound, PAGE);
  }

  function startBound(filter: RecordFilter, order: 'asc' | 'desc'): number {
    if (order === 'asc') return stmt.containing.get(filter.from ?? 0)?.first_offset ?? filter.from ?? 0;
    return filter.to === undefined ? Number.MAX_SAFE_INTEGER : filter.to - 1;
  }

  return {
    scan(filter, order, limit) {
      const keep = predicate(filter, partitions);
      const from = filter.from ?? 0;
      const to = filter.to ?? Number.MAX_SAFE_INTEGER;
      const out: LogRecord[] = [];
      let bound = startBound(filter, order);
      for (;;) {
        const rows = page(filter, order, bound);
        for (const row of rows) {
          collect(row, order, from, to, keep, limit, out);
          if (out.length >= limit) return out;
        }
        if (rows.length < PAGE) return out;
        const last = rows[rows.length - 1]!;
        bound = order === 'asc' ? last.last_offset + 1 : last.first_offset - 1;
        if ((order === 'asc' && bound >= to) || (order === 'desc' && last.first_offset <= from)) return out;
      }
    },

    offsetAt(time, nextOffset) {
      return stmt.atTime.get(time)?.first_offset ?? nextOffset;
    },

    firstOffset(nextOffset) {
      return stmt.first.get()?.first_offset ?? nextOffset;
    },
  };

  function collect(
    row: ChunkRow,
    order: 'asc' | 'desc',
    from: number,
    to: number,
    keep: (ev: CloudEvent) => boolean,
    limit: number,
    out: LogRecord[],
  ): void {
    if (row.last_offset < from || row.first_offset >= to) return;
    const events = JSON.parse(row.body) as CloudEvent[];
    const n = events.length;
    for (let k = 0; k < n && out.length < limit; k++) {
      const i = order === 'asc' ? k : n - 1 - k;
      const offset = row.first_offset + i;
      if (offset < from || offset >= to) continue;
      const event = events[i]!;
      if (!keep(event)) continue;
      const partitionKey = partitionKeyOf(event);
      out.push({
        offset,
        partition: partitionOf(partitionKey, partitions),
        partitionKey,
        appendedAt: row.appended_at,
        event,
      });
    }
  }
}
