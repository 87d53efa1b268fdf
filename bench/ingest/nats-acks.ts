/**
 * @module A lean JetStream publisher: core publishes with a reply subject under one wildcard
 * subscription, each returning a promise of its PubAck (the pattern of the Go client's PublishAsync).
 * `js.publish` of @nats-io/jetstream costs so much client CPU per message (a request, a timer) that
 * on a small machine it measured the load generator rather than the server.
 */
import { createInbox, type NatsConnection } from '@nats-io/transport-node';

export interface AckPublisher {
  /** Resolves with the stream sequence once JetStream has stored the message; rejects on an error reply. */
  publish(subject: string, payload: Uint8Array): Promise<number>;
  close(): void;
}

interface Waiter {
  resolve(seq: number): void;
  reject(error: Error): void;
}

export function createAckPublisher(nc: NatsConnection, stream: string): AckPublisher {
  const inbox = createInbox();
  const waiters = new Map<number, Waiter>();
  let next = 0;
  const decoder = new TextDecoder();
  const sub = nc.subscribe(`${inbox}.*`, {
    callback: (error, msg) => {
      if (error) {
        for (const waiter of waiters.values()) waiter.reject(error);
        waiters.clear();
        return;
      }
      const id = Number(msg.subject.slice(inbox.length + 1));
      const waiter = waiters.get(id);
      if (!waiter) return;
      waiters.delete(id);
      settle(waiter, msg.data.length === 0 ? undefined : decoder.decode(msg.data), stream);
    },
  });
  return {
    publish(subject, payload) {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiters.set(id, { resolve, reject });
        nc.publish(subject, payload, { reply: `${inbox}.${id}` });
      });
    },
    close: () => sub.unsubscribe(),
  };
}

function settle(waiter: Waiter, body: string | undefined, stream: string): void {
  if (body === undefined) {
    waiter.reject(new Error('no responders: no stream listens on the subject'));
    return;
  }
  const ack = JSON.parse(body) as {
    stream?: string;
    seq?: number;
    duplicate?: boolean;
    error?: { description?: string };
  };
  if (ack.error || ack.stream !== stream || ack.duplicate || typeof ack.seq !== 'number') {
    waiter.reject(new Error(`bad ack: ${body}`));
    return;
  }
  waiter.resolve(ack.seq);
}
