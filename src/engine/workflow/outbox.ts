/**
 * @module Publishes the workflow outbox: events written with their records (same transaction) are
 * appended through ingest in write order, then removed. A failed publish is retried after a
 * delay; an event ingest rejects is reported and dropped (it would block the rest forever). Event
 * ids are deterministic, so a publish repeated after a crash is a duplicate the log suppresses.
 */
import type { CloudEvent } from '../../core/event.js';
import type { WorkflowStore } from '../../ports/workflow-store.js';

export type PublishEvents = (events: readonly CloudEvent[]) => Promise<unknown>;

export interface Outbox {
  /** Something was written: publish soon. */
  kick(): void;
  /** Publishes what is pending now (resolves when the outbox is empty or a publish failed). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const BATCH = 100;
const RETRY_MS = 1_000;

function rejectedOf(results: unknown, events: readonly CloudEvent[]): string[] {
  if (!Array.isArray(results)) return [];
  return results.flatMap((r: { status?: unknown; code?: unknown }, i) =>
    r?.status === 'rejected' ? [`${events[i]?.type} ${events[i]?.id}: ${String(r.code ?? 'rejected')}`] : [],
  );
}

export function createOutbox(store: WorkflowStore, publish: PublishEvents, onError: (err: unknown) => void): Outbox {
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  async function drain(): Promise<void> {
    for (;;) {
      const pending = await store.pendingEvents(BATCH);
      if (pending.length === 0) return;
      const events = pending.map((p) => p.event);
      const rejected = rejectedOf(await publish(events), events);
      if (rejected.length > 0) onError(new Error(`ingest rejected workflow events: ${rejected.join('; ')}`));
      await store.removeEvents(pending[pending.length - 1]!.seq);
    }
  }

  function run(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await drain();
        } catch (err) {
          onError(err);
          if (!closed && retry === undefined) {
            retry = setTimeout(() => {
              retry = undefined;
              void run();
            }, RETRY_MS);
            retry.unref();
          }
          return;
        }
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    kick: () => {
      if (!closed) void run();
    },
    flush: () => run(),
    async close() {
      closed = true;
      clearTimeout(retry);
      await running;
    },
  };
}
