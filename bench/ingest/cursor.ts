/** @module A shared position in an event pool, so concurrent workers never send the same event twice. */
import type { EventPool } from './events.js';

export interface PoolCursor {
  /** Index of the next unsent event, or `undefined` when fewer than `count` remain. */
  take(count: number): number | undefined;
  /** The next unsent whole batch, or `undefined` when none remain. */
  takeBatch(): number | undefined;
  readonly pool: EventPool;
}

export function createPoolCursor(pool: EventPool, from = 0): PoolCursor {
  let next = from;
  return {
    pool,
    take(count) {
      if (next + count > pool.size) return undefined;
      const at = next;
      next += count;
      return at;
    },
    takeBatch() {
      const batch = Math.ceil(next / pool.batchSize);
      if (batch >= pool.batches.length) return undefined;
      next = (batch + 1) * pool.batchSize;
      return batch;
    },
  };
}
