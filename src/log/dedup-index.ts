/**
 * @module DedupIndex: which `(source, id)` keys were appended within the dedup window.
 *
 * A compact open-addressing table of 53-bit key hashes and offsets in typed arrays: 16 bytes a
 * slot, no object per key, so millions of keys cost tens of MiB and no garbage-collection time.
 * A hash match is only a candidate: `verify` (the log's stored key for that offset) decides, so a
 * hash collision can never turn a new event into a false duplicate. Offsets of appended events are
 * increasing, so expiry is "offset below the window start", applied when the table is rebuilt.
 * Memory is bounded by `maxKeys`: past it the oldest keys are forgotten first and the effective
 * window becomes shorter than configured (reported by `stats`). Forgetting a key can only let a
 * late duplicate be appended again (at least once), never lose an event.
 */

export interface DedupIndexOptions {
  readonly windowMs: number;
  readonly maxKeys: number;
}

export interface DedupStats {
  /** Keys held, including expired ones not yet purged (purged at the next rebuild or `expire`). */
  readonly keys: number;
  /** Append time of the oldest remembered key, or undefined when empty. */
  readonly oldestAt: number | undefined;
  /** Keys forgotten because of `maxKeys` before their window ended. */
  readonly evictedEarly: number;
}

/** Whether the event stored at `offset` has this source and id. */
export type VerifyKey = (offset: number, source: string, id: string) => boolean;

export interface DedupIndex {
  /**
   * The hot path: returns the first copy's offset if `(source, id)` was appended within the window,
   * else records `offset` for it and returns undefined.
   */
  claim(source: string, id: string, offset: number, now: number, verify: VerifyKey): number | undefined;
  /** Records a key without checking (rebuilding the index from the log). */
  add(source: string, id: string, offset: number, at: number): void;
  /** Forgets keys older than the window now rather than at the next rebuild. */
  expire(now: number): void;
  stats(): DedupStats;
  clear(): void;
}

/** Keys appended within this many ms share one time checkpoint (they may expire up to this much late). */
const CHECKPOINT_MS = 1_000;
const MIN_CAPACITY = 1 << 12;
const TWO_32 = 4_294_967_296;

/** Two FNV-1a style 32-bit hashes of `source \0 id`, combined into one 53-bit integer (never 0). */
export function hashKey(source: string, id: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  const mix = (c: number): void => {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  };
  for (let i = 0; i < source.length; i++) mix(source.charCodeAt(i));
  mix(0);
  for (let i = 0; i < id.length; i++) mix(id.charCodeAt(i));
  const h = ((b >>> 0) & 0x1fffff) * TWO_32 + (a >>> 0);
  return h === 0 ? 1 : h;
}

export function createDedupIndex(options: DedupIndexOptions): DedupIndex {
  let capacity = MIN_CAPACITY;
  let hashes = new Float64Array(capacity);
  let offsets = new Float64Array(capacity);
  let used = 0;
  /** Lowest offset still remembered; everything below it is forgotten. */
  let floor = 0;
  let newest = 0;
  /** Ascending [first offset, first append time, latest append time]; live ones start at `head`. */
  const checkpoints: [number, number, number][] = [];
  let head = 0;
  let evictedEarly = 0;

  /** The smallest offset whose append time is inside the window. */
  function windowStart(now: number): number {
    const cutoff = now - options.windowMs;
    while (head < checkpoints.length && checkpoints[head]![2] < cutoff) head++;
    if (head > 1024 && head * 2 > checkpoints.length) {
      checkpoints.splice(0, head);
      head = 0;
    }
    return Math.max(floor, checkpoints[head]?.[0] ?? Number.MAX_SAFE_INTEGER);
  }

  function slotOf(hash: number): number {
    return (hash % TWO_32) & (capacity - 1);
  }

  function insert(hash: number, offset: number): void {
    let s = slotOf(hash);
    while (hashes[s] !== 0) s = (s + 1) & (capacity - 1);
    hashes[s] = hash;
    offsets[s] = offset;
    used++;
  }

  /** Rebuilds the table keeping only live keys (at most maxKeys, newest first), resized to fit. */
  function rebuild(start: number): void {
    const keepFrom = Math.max(start, newest - options.maxKeys + 1);
    const oldHashes = hashes;
    const oldOffsets = offsets;
    let live = 0;
    for (let s = 0; s < oldHashes.length; s++) {
      if (oldHashes[s] === 0 || oldOffsets[s]! < start) continue;
      if (oldOffsets[s]! < keepFrom) evictedEarly++;
      else live++;
    }
    floor = Math.max(floor, keepFrom);
    capacity = MIN_CAPACITY;
    while (capacity < live * 4) capacity *= 2;
    hashes = new Float64Array(capacity);
    offsets = new Float64Array(capacity);
    used = 0;
    for (let s = 0; s < oldHashes.length; s++) {
      if (oldHashes[s] !== 0 && oldOffsets[s]! >= floor) insert(oldHashes[s]!, oldOffsets[s]!);
    }
  }

  function record(hash: number, offset: number, at: number): void {
    if (used + 1 > capacity / 2 || offset - floor >= options.maxKeys * 2) rebuild(windowStart(at));
    insert(hash, offset);
    newest = Math.max(newest, offset);
    const last = checkpoints[checkpoints.length - 1];
    if (last !== undefined && checkpoints.length > head && at - last[1] < CHECKPOINT_MS)
      last[2] = Math.max(last[2], at);
    else checkpoints.push([offset, at, at]);
  }

  return {
    claim(source, id, offset, now, verify) {
      const hash = hashKey(source, id);
      const start = windowStart(now);
      for (let s = slotOf(hash); hashes[s] !== 0; s = (s + 1) & (capacity - 1)) {
        const candidate = offsets[s]!;
        if (hashes[s] === hash && candidate >= start && verify(candidate, source, id)) return candidate;
      }
      record(hash, offset, now);
      return undefined;
    },

    add(source, id, offset, at) {
      record(hashKey(source, id), offset, at);
    },

    expire(now) {
      rebuild(windowStart(now));
    },

    stats() {
      // O(1): `used` counts keys since the last rebuild, some possibly expired but not yet purged.
      const first = checkpoints[head];
      return { keys: used, oldestAt: used > 0 ? first?.[1] : undefined, evictedEarly };
    },

    clear() {
      capacity = MIN_CAPACITY;
      hashes = new Float64Array(capacity);
      offsets = new Float64Array(capacity);
      used = 0;
      floor = 0;
      newest = 0;
      checkpoints.length = 0;
      head = 0;
    },
  };
}
