/**
 * @module Batches the dispatcher's DeliveryStore changes: many deliveries per transaction. Each
 * `write` resolves when its changes are durable; changes are applied in the order written, by one
 * `apply` at a time.
 */
import type { DeliveryChange, DeliveryStore } from '../ports/delivery-store.js';

export interface StateWriter {
  write(changes: readonly DeliveryChange[]): Promise<void>;
  /** Resolves when everything written so far is durable. */
  flush(): Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** `maxBatch` changes at most per apply (default 2,000). */
export function createStateWriter(store: DeliveryStore, maxBatch = 2_000): StateWriter {
  let queue: DeliveryChange[] = [];
  let waiters: Waiter[] = [];
  let running = false;

  const run = async (): Promise<void> => {
    running = true;
    let partialError: unknown;
    while (queue.length > 0 || waiters.length > 0) {
      const batch = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
      const done = batch === queue ? waiters : [];
      if (batch === queue) {
        queue = [];
        waiters = [];
      }
      try {
        await store.apply(batch);
        for (const w of done) {
          if (partialError === undefined) w.resolve();
          else w.reject(partialError);
        }
      } catch (err) {
        partialError ??= err;
        for (const w of done) w.reject(err);
      }
      if (done.length > 0) partialError = undefined;
    }
    running = false;
  };

  const write = (changes: readonly DeliveryChange[]): Promise<void> => {
    for (const c of changes) queue.push(c);
    return new Promise<void>((resolve, reject) => {
      waiters.push({ resolve, reject });
      if (!running) setImmediate(() => void (running ? undefined : run()));
    });
  };
  return { write, flush: () => write([]) };
}
