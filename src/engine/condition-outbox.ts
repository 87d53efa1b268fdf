/**
 * @module The condition runner's outbox: appends `homeostat.condition.fired` events to the log in
 * the order they fired, one batch at a time, retrying a failed batch (the log's `(source, id)`
 * dedup makes a repeat harmless). `drained(seq)` tells when everything queued up to a point is
 * durable, which a snapshot waits for so that it never records a firing the log does not have.
 */
import type { CloudEvent } from '../core/event.js';
import type { EventLog } from '../ports/event-log.js';

const MAX_BATCH = 500;
const RETRY_MS = 1_000;

interface Waiter {
  readonly seq: number;
  resolve(): void;
  reject(err: unknown): void;
}

export interface Outbox {
  push(event: CloudEvent): void;
  /** Events pushed so far: pass it to `drained` to wait for them. */
  readonly queued: number;
  /** Resolves when the first `seq` events pushed are durable; rejects if an append fails first. */
  drained(seq: number): Promise<void>;
  /** Stops retrying; events still queued stay unappended (a restart fires them again). */
  close(): void;
}

export function createOutbox(log: EventLog, onError: (err: unknown) => void): Outbox {
  let queue: CloudEvent[] = [];
  let queued = 0;
  let appended = 0;
  let busy = false;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let waiters: Waiter[] = [];

  const settle = (err?: unknown): void => {
    const keep: Waiter[] = [];
    for (const w of waiters) {
      if (w.seq <= appended) w.resolve();
      else if (err !== undefined) w.reject(err);
      else keep.push(w);
    }
    waiters = keep;
  };

  const pump = (): void => {
    if (busy || queue.length === 0 || retry) return;
    busy = true;
    const batch = queue.length > MAX_BATCH ? queue.splice(0, MAX_BATCH) : queue;
    if (batch === queue) queue = [];
    log.append(batch).then(
      () => {
        busy = false;
        appended += batch.length;
        settle();
        pump();
      },
      (err: unknown) => {
        busy = false;
        queue = [...batch, ...queue];
        settle(err);
        if (closed) return;
        onError(err);
        retry = setTimeout(() => {
          retry = undefined;
          pump();
        }, RETRY_MS);
      },
    );
  };

  return {
    push(event) {
      queue.push(event);
      queued++;
      pump();
    },
    get queued() {
      return queued;
    },
    drained(seq) {
      if (seq <= appended) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ seq, resolve, reject });
        if (retry) {
          clearTimeout(retry);
          retry = undefined;
        }
        pump();
      });
    },
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = undefined;
    },
  };
}
