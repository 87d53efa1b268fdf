/**
 * @module DedupIndex: the in-memory index of `(source, id)` keys appended within the dedup window.
 *
 * Keys live in a Map in insertion order, which is offset order, so expiry drops from the front.
 * Memory is bounded by `maxKeys`: past it the oldest keys are forgotten first and the effective
 * window becomes shorter than configured (reported by `stats`). Forgetting a key can only let a
 * late duplicate be appended again (at least once), never lose an event.
 */

export interface DedupIndexOptions {
  readonly windowMs: number;
  readonly maxKeys: number;
}

export interface DedupStats {
  readonly keys: number;
  /** Append time of the oldest remembered key, or undefined when empty. */
  readonly oldestAt: number | undefined;
  /** Keys forgotten because of `maxKeys` before their window ended. */
  readonly evictedEarly: number;
}

export interface DedupIndex {
  /** The offset of the first copy if `(source, id)` was appended within the window. */
  lookup(source: string, id: string, now: number): number | undefined;
  add(source: string, id: string, offset: number, at: number): void;
  /**
   * lookup + add in one step (the hot path): returns the first copy's offset for a duplicate, or
   * undefined after recording `offset` for a new key.
   */
  claim(source: string, id: string, offset: number, now: number): number | undefined;
  /** Forgets keys older than the window. */
  expire(now: number): void;
  stats(): DedupStats;
  clear(): void;
}

function keyOf(source: string, id: string): string {
  return `${source}\u0000${id}`;
}

/** Keys appended within this many ms share one time checkpoint (they may expire up to this much late). */
const CHECKPOINT_MS = 1_000;

export function createDedupIndex(options: DedupIndexOptions): DedupIndex {
  const offsets = new Map<string, number>();
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
    return checkpoints[head]?.[0] ?? Number.MAX_SAFE_INTEGER;
  }

  /** Appends a key at the end (offset order) with its time checkpoint; evicts past maxKeys. */
  function record(key: string, offset: number, at: number): void {
    offsets.set(key, offset);
    const last = checkpoints[checkpoints.length - 1];
    if (last !== undefined && checkpoints.length > head && at - last[1] < CHECKPOINT_MS)
      last[2] = Math.max(last[2], at);
    else checkpoints.push([offset, at, at]);
    if (offsets.size > options.maxKeys) {
      const oldest = offsets.keys().next().value as string;
      offsets.delete(oldest);
      evictedEarly++;
    }
  }

  function dropFront(belowOffset: number): void {
    for (const [key, offset] of offsets) {
      if (offset >= belowOffset) break;
      offsets.delete(key);
    }
  }

  return {
    lookup(source, id, now) {
      const offset = offsets.get(keyOf(source, id));
      if (offset === undefined) return undefined;
      return offset >= windowStart(now) ? offset : undefined;
    },

    add(source, id, offset, at) {
      const key = keyOf(source, id);
      offsets.delete(key);
      record(key, offset, at);
    },

    claim(source, id, offset, now) {
      const key = keyOf(source, id);
      const existing = offsets.get(key);
      if (existing !== undefined) {
        if (existing >= windowStart(now)) return existing;
        offsets.delete(key);
      }
      record(key, offset, now);
      return undefined;
    },

    expire(now) {
      dropFront(windowStart(now));
    },

    clear() {
      offsets.clear();
      checkpoints.length = 0;
      head = 0;
    },

    stats() {
      const firstOffset = offsets.values().next().value as number | undefined;
      let oldestAt: number | undefined;
      for (let i = head; firstOffset !== undefined && i < checkpoints.length; i++) {
        const [offset, at] = checkpoints[i]!;
        if (offset > firstOffset) break;
        oldestAt = at;
      }
      return { keys: offsets.size, oldestAt, evictedEarly };
    },
  };
}
