/** @module Provider events as CloudEvents on the log: `infra.*` types, the resource as subject, causation kept. */
import type { Clock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import type { ProviderEvent } from '../../ports/provider.js';

export const INFRA_SOURCE_PREFIX = 'homeostat/provider/';

/** Appends events through ingest (schemas and dedup apply); resolves when they are durable. */
export type Publish = (events: readonly CloudEvent[]) => Promise<unknown>;

/**
 * Turns provider events into CloudEvents with ids unique across restarts (`<provider>-<start>-<seq>`)
 * and the resource as partition key, so each resource's events keep their order.
 */
export function createInfraEventFactory(clock: Clock): (provider: string, e: ProviderEvent) => CloudEvent {
  const start = clock.now().toString(36) + Math.floor(Math.random() * 36 ** 4).toString(36);
  let seq = 0;
  return (provider, e) => ({
    specversion: '1.0',
    id: `${provider}-${start}-${(seq++).toString(36)}`,
    source: `${INFRA_SOURCE_PREFIX}${provider}`,
    type: `infra.${e.type}`,
    subject: e.subject,
    time: new Date(e.time).toISOString(),
    datacontenttype: 'application/json',
    partitionkey: e.subject,
    ...(e.cause ? { causationid: e.cause } : {}),
    data: e.data,
  });
}

/**
 * Publishes events in order, in batches: everything reported during one turn of the event loop
 * goes in one append. Failures are retried (the events are kept) and reported through `onError`.
 */
export function createOrderedPublisher(publish: Publish, onError: (err: unknown) => void) {
  let queue: CloudEvent[] = [];
  let running: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await publish(batch);
      } catch (err) {
        onError(err);
        queue = [...batch, ...queue];
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    running = undefined;
  };
  return {
    push(event: CloudEvent): void {
      queue.push(event);
      running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(drain);
    },
    /** Resolves when everything pushed so far is published. */
    async flush(): Promise<void> {
      while (running) await running;
    },
  };
}
