/**
 * @module Publishing to JetStream with acknowledgements: core publishes with a reply subject under
 * one wildcard subscription, each returning its PubAck (what the Go client's PublishAsync does).
 * Cheaper per message than `js.publish` (no request, no timer each); one sweep times out lost acks.
 * Messages of one call leave in call order on one connection, so the stream stores them in that order.
 */
import { createInbox, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HomeostatError } from '../../core/errors.js';

export interface PubAck {
  readonly seq: number;
  readonly duplicate: boolean;
}

export interface Publisher {
  /** Resolves once JetStream stored the message (or found its id within the duplicate window). */
  publish(subject: string, payload: string, msgId: string | undefined): Promise<PubAck>;
  /** Acknowledgements still awaited. */
  pending(): number;
  close(): void;
}

interface Waiter {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (err: Error) => void;
  readonly deadline: number;
  readonly subject: string;
}

export function createPublisher(nc: NatsConnection, stream: string, timeoutMs: number): Publisher {
  const inbox = createInbox();
  const waiters = new Map<number, Waiter>();
  const decoder = new TextDecoder();
  let next = 0;

  const sub = nc.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      if (err) {
        failAll(new HomeostatError(ErrorCode.BACKEND, `NATS acknowledgements stopped: ${err.message}`, { cause: err }));
        return;
      }
      const id = Number(msg.subject.slice(inbox.length + 1));
      const waiter = waiters.get(id);
      if (waiter === undefined) return;
      waiters.delete(id);
      settle(waiter, msg.data.length === 0 ? undefined : decoder.decode(msg.data), msg.headers?.code ?? 0);
    },
  });

  // Waiters are in insertion order, so deadlines ascend: stop at the first that has not passed.
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const [id, w] of waiters) {
        if (w.deadline > now) break;
        waiters.delete(id);
        w.reject(
          new HomeostatError(
            ErrorCode.BACKEND,
            `NATS did not acknowledge a publish to ${w.subject} within ${timeoutMs} ms (stream ${stream}); the event may or may not be stored: retry (duplicates are suppressed)`,
          ),
        );
      }
    },
    Math.min(1_000, Math.max(50, timeoutMs / 4)),
  );
  sweep.unref();

  function settle(w: Waiter, body: string | undefined, status: number): void {
    if (body === undefined) {
      const what =
        status === 503 ? `no stream takes subject ${w.subject} (was stream ${stream} deleted?)` : `status ${status}`;
      w.reject(new HomeostatError(ErrorCode.BACKEND, `NATS publish failed: ${what}`));
      return;
    }
    let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: { description?: string; code?: number } };
    try {
      ack = JSON.parse(body) as typeof ack;
    } catch {
      w.reject(new HomeostatError(ErrorCode.BACKEND, `NATS publish to ${w.subject}: unreadable acknowledgement`));
      return;
    }
    if (ack.error !== undefined || typeof ack.seq !== 'number' || ack.stream !== stream) {
      const why = ack.error?.description ?? `acknowledged by stream ${ack.stream ?? '?'} instead of ${stream}`;
      w.reject(new HomeostatError(ErrorCode.BACKEND, `NATS publish to ${w.subject} failed: ${why}`));
      return;
    }
    w.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
  }

  function failAll(err: Error): void {
    for (const w of waiters.values()) w.reject(err);
    waiters.clear();
  }

  return {
    publish(subject, payload, msgId) {
      return new Promise<PubAck>((resolve, reject) => {
        const id = next++;
        let hdrs: MsgHdrs | undefined;
        if (msgId !== undefined) {
          hdrs = headers();
          hdrs.set('Nats-Msg-Id', msgId);
        }
        waiters.set(id, { resolve, reject, deadline: performance.now() + timeoutMs, subject });
        try {
          nc.publish(subject, payload, { reply: `${inbox}.${id}`, headers: hdrs });
        } catch (err) {
          waiters.delete(id);
          reject(
            new HomeostatError(ErrorCode.BACKEND, `NATS publish to ${subject} failed: ${String(err)}`, { cause: err }),
          );
        }
      });
    },
    pending: () => waiters.size,
    close() {
      clearInterval(sweep);
      failAll(new HomeostatError(ErrorCode.CLOSED, 'the event log is closed'));
      sub.unsubscribe();
    },
  };
}
