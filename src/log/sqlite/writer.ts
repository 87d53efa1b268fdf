/**
 * @module ChunkWriter: every write to the SQLite log (chunks, dedup, counters, consumer offsets,
 * retention), synchronous. It runs inline or inside the writer thread; only one exists per file.
 */
import type { SqliteDatabase } from '../../store/sqlite/database.js';
import { createDedupIndex, type DedupStats } from '../dedup-index.js';

/**
 * Separates the fields in `AppendGroups.packed`. It cannot occur inside them: CloudEvents forbids
 * control characters in attribute values, and JSON text has none outside escapes.
 */
export const FIELD_SEPARATOR = '\u0001';

/** One commit's events, packed into one string for cheap transfer to a thread. */
export interface AppendGroups {
  /** source, id, type, JSON text per event, all joined by FIELD_SEPARATOR. */
  readonly packed: string;
  /** Events per append call, in order. */
  readonly sizes: readonly number[];
  readonly now: number;
}

/**
 * Per event, in order: the offset (> 0) it was appended at, or the negated offset of the first
 * copy for a duplicate.
 */
export type AppendCodes = number[];

export interface WriterStats {
  readonly nextOffset: number;
  readonly count: number;
  readonly bytes: number;
  readonly dedup: DedupStats;
}

export interface WriterSettings {
  readonly dedupWindowMs: number;
  readonly dedupMaxKeys: number;
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  /** Time to rebuild the dedup window from. */
  readonly now: number;
}

export interface ChunkWriter {
  append(groups: AppendGroups): AppendCodes;
  commitOffset(consumer: string, offset: number, reset: boolean, now: number): void;
  enforceRetention(now: number): number;
  stats(): WriterStats;
}

/** Chunks are cut at this many events so that reading one back stays cheap. */
const MAX_CHUNK_EVENTS = 1_000;

interface ChunkDraft {
  first: number;
  texts: string[];
  keys: string[];
  types: Set<string>;
}

export function createChunkWriter(db: SqliteDatabase, settings: WriterSettings): ChunkWriter {
  const stmt = {
    insertChunk: db.prepare(
      'INSERT INTO chunks (first_offset, last_offset, appended_at, bytes, keys, body) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    insertType: db.prepare('INSERT INTO chunk_types (type, first_offset) VALUES (?, ?)'),
    counters: db.prepare<[], { next_offset: number; count: number; bytes: number }>(
      'SELECT next_offset, count, bytes FROM counters WHERE id = 0',
    ),
    saveCounters: db.prepare('UPDATE counters SET next_offset = ?, count = ?, bytes = ? WHERE id = 0'),
    recentKeys: db.prepare<[number], { first_offset: number; appended_at: number; keys: string }>(
      'SELECT first_offset, appended_at, keys FROM chunks WHERE appended_at >= ? ORDER BY first_offset',
    ),
    oldest: db.prepare<[], { first_offset: number; last_offset: number; appended_at: number; bytes: number }>(
      'SELECT first_offset, last_offset, appended_at, bytes FROM chunks ORDER BY first_offset LIMIT 1',
    ),
    deleteChunk: db.prepare('DELETE FROM chunks WHERE first_offset = ?'),
    deleteTypes: db.prepare('DELETE FROM chunk_types WHERE first_offset < ?'),
    chunkKeys: db.prepare<[number], { first_offset: number; keys: string }>(
      'SELECT first_offset, keys FROM chunks WHERE first_offset <= ? ORDER BY first_offset DESC LIMIT 1',
    ),
    commitOffset: db.prepare(
      `INSERT INTO consumers (name, "offset", updated_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET "offset" = excluded."offset", updated_at = excluded.updated_at
       WHERE excluded."offset" > consumers."offset" OR ?`,
    ),
  };
  const counters = { ...stmt.counters.get()! };
  const dedup = createDedupIndex({ windowMs: settings.dedupWindowMs, maxKeys: settings.dedupMaxKeys });
  let lastAppendAt = 0;
  /** Recently read chunk key lists, by first offset, to verify dedup candidates. */
  const keyCache = new Map<number, string[]>();
  rebuildDedup(settings.now);

  /** The stored [source, id, source, id, ...] of the chunk holding `offset`, with its first offset. */
  function storedKeys(offset: number): { first: number; keys: string[] } | undefined {
    for (const [first, keys] of keyCache) {
      if (offset >= first && offset < first + keys.length / 2) return { first, keys };
    }
    const row = stmt.chunkKeys.get(offset);
    if (row === undefined) return undefined;
    const keys = JSON.parse(row.keys) as string[];
    if (keyCache.size >= 16) keyCache.delete(keyCache.keys().next().value as number);
    keyCache.set(row.first_offset, keys);
    return { first: row.first_offset, keys };
  }

  /** Verifies a dedup candidate against the draft being written, or else the stored chunk. */
  function verifier(current: () => ChunkDraft): (offset: number, source: string, id: string) => boolean {
    return (offset, source, id) => {
      const draft = current();
      const inDraft = offset >= draft.first;
      const found = inDraft ? { first: draft.first, keys: draft.keys } : storedKeys(offset);
      if (found === undefined) return false;
      const k = (offset - found.first) * 2;
      return found.keys[k] === source && found.keys[k + 1] === id;
    };
  }

  /** Re-reads the keys appended within the dedup window (at open, and after a failed commit). */
  function rebuildDedup(now: number): void {
    dedup.clear();
    keyCache.clear();
    for (const row of stmt.recentKeys.iterate(now - settings.dedupWindowMs)) {
      const keys = JSON.parse(row.keys) as string[];
      for (let i = 0; i < keys.length; i += 2) {
        dedup.add(keys[i]!, keys[i + 1]!, row.first_offset + i / 2, row.appended_at);
      }
      lastAppendAt = Math.max(lastAppendAt, row.appended_at);
    }
  }

  function newDraft(): ChunkDraft {
    return { first: counters.next_offset, texts: [], keys: [], types: new Set() };
  }

  function writeChunk(draft: ChunkDraft, now: number): void {
    if (draft.texts.length === 0) return;
    const body = `[${draft.texts.join(',')}]`;
    const bytes = Buffer.byteLength(body);
    stmt.insertChunk.run(
      draft.first,
      draft.first + draft.texts.length - 1,
      now,
      bytes,
      JSON.stringify(draft.keys),
      body,
    );
    for (const type of draft.types) stmt.insertType.run(type, draft.first);
    counters.count += draft.texts.length;
    counters.bytes += bytes;
  }

  const commit = db.transaction((items: readonly string[], now: number): AppendCodes => {
    const codes: AppendCodes = new Array(items.length / 4);
    let draft = newDraft();
    const verify = verifier(() => draft);
    for (let i = 0, e = 0; i < items.length; i += 4, e++) {
      if (draft.texts.length >= MAX_CHUNK_EVENTS) {
        writeChunk(draft, now);
        draft = newDraft();
      }
      const source = items[i]!;
      const id = items[i + 1]!;
      const original = dedup.claim(source, id, counters.next_offset, now, verify);
      if (original !== undefined) {
        codes[e] = -original;
        continue;
      }
      codes[e] = counters.next_offset++;
      draft.texts.push(items[i + 3]!);
      draft.keys.push(source, id);
      draft.types.add(items[i + 2]!);
    }
    writeChunk(draft, now);
    stmt.saveCounters.run(counters.next_offset, counters.count, counters.bytes);
    return codes;
  });

  /** Deletes the oldest chunk while `expired` says so; returns the number of events removed. */
  function trimWhile(expired: (oldest: { appended_at: number }) => boolean): number {
    let removed = 0;
    db.transaction(() => {
      for (let row = stmt.oldest.get(); row !== undefined && expired(row); row = stmt.oldest.get()) {
        stmt.deleteChunk.run(row.first_offset);
        stmt.deleteTypes.run(row.last_offset + 1);
        const n = row.last_offset - row.first_offset + 1;
        removed += n;
        counters.count -= n;
        counters.bytes -= row.bytes;
      }
      stmt.saveCounters.run(counters.next_offset, counters.count, counters.bytes);
    })();
    return removed;
  }

  return {
    append({ packed, now }) {
      const items = packed.split(FIELD_SEPARATOR);
      // Append times never go backwards, even if the clock does.
      const at = Math.max(now, lastAppendAt);
      const before = { ...counters };
      try {
        const codes = commit(items, at);
        lastAppendAt = at;
        return codes;
      } catch (err) {
        Object.assign(counters, before);
        rebuildDedup(at);
        throw err;
      }
    },

    commitOffset(consumer, offset, reset, now) {
      stmt.commitOffset.run(consumer, offset, now, reset ? 1 : 0);
    },

    enforceRetention(now) {
      let removed = 0;
      if (settings.maxAgeMs > 0) removed += trimWhile((oldest) => oldest.appended_at < now - settings.maxAgeMs);
      if (settings.maxBytes > 0) removed += trimWhile(() => counters.bytes > settings.maxBytes);
      if (removed > 0) keyCache.clear();
      dedup.expire(now);
      return removed;
    },

    stats() {
      return { nextOffset: counters.next_offset, count: counters.count, bytes: counters.bytes, dedup: dedup.stats() };
    },
  };
}
