/**
 * @module Live tail over the stream: an ordered consumer (the client recreates it after a gap or a
 * reconnect, so delivery stays in stream order with nothing skipped) from a start sequence,
 * history first and then new messages as JetStream stores them, from any process. A single type is
 * filtered by the server's subject filter; other conditions apply here.
 */
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { FollowOptions, LogRecord } from '../../ports/event-log.js';
import { reason } from './connect.js';
import { recordPredicate, toRecord } from './records.js';
import type { SubjectLayout } from './stream.js';

export interface FollowContext {
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly layout: SubjectLayout;
  readonly isClosed: () => boolean;
  /** The next offset: where a follow without `from` starts. */
  readonly nextOffset: () => Promise<number>;
  readonly offsetAt: (time: number) => Promise<number>;
  /** Registers a stop function the log calls on close; returns its removal. */
  readonly onClose: (stop: () => void) => () => void;
}

/** Messages the client keeps buffered ahead of the reader. */
const BUFFER = 512;

export function followStream(ctx: FollowContext, opts: FollowOptions): AsyncIterable<LogRecord> {
  const keep = recordPredicate(opts);
  // "From now on" means from the call: ask for the next sequence at once, before anything this
  // process appends after the call leaves on the same connection (the server answers in order).
  const now = opts.from === undefined && !ctx.isClosed() ? ctx.nextOffset() : undefined;
  now?.catch(() => undefined);
  return {
    async *[Symbol.asyncIterator]() {
      if (ctx.isClosed() || opts.signal?.aborted) return;
      let start = opts.from ?? (await (now ?? ctx.nextOffset()));
      if (opts.since !== undefined) start = Math.max(start, await ctx.offsetAt(opts.since));
      if (ctx.isClosed() || opts.signal?.aborted) return;
      let messages;
      try {
        const types = [...new Set(opts.types ?? [])];
        const consumer = await ctx.js.consumers.get(ctx.stream, {
          // One partition (a cluster node's router) or one type: the server sends only those
          // subjects (the predicate still checks).
          ...(opts.partitions?.length === 1
            ? { filter_subjects: ctx.layout.partitionFilter(opts.partitions[0]!) }
            : types.length === 1
              ? { filter_subjects: ctx.layout.typeFilter(types[0]!) }
              : {}),
          ...(start > 1
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }
            : { deliver_policy: DeliverPolicy.All }),
        });
        messages = await consumer.consume({ max_messages: BUFFER });
      } catch (err) {
        if (ctx.isClosed()) return;
        throw new HomeostatError(ErrorCode.BACKEND, `NATS stream ${ctx.stream}: following failed: ${reason(err)}`, {
          cause: err,
        });
      }
      const stop = (): void => void messages.stop();
      const unregister = ctx.onClose(stop);
      opts.signal?.addEventListener('abort', stop, { once: true });
      // Aborted or closed while the consumer was being set up: the listeners above came too late.
      if (opts.signal?.aborted || ctx.isClosed()) stop();
      try {
        for await (const m of messages) {
          if (opts.signal?.aborted || ctx.isClosed()) return;
          const rec = toRecord(
            {
              seq: m.seq,
              appendedAt: Number(m.timestampNanos / 1_000_000n),
              subject: m.subject,
              data: m.data,
            },
            ctx.layout,
          );
          if (rec === undefined) continue;
          if (opts.until !== undefined && rec.appendedAt >= opts.until) continue;
          if (keep !== undefined && !keep(rec)) continue;
          yield rec;
        }
      } catch (err) {
        if (ctx.isClosed() || opts.signal?.aborted) return;
        throw new HomeostatError(ErrorCode.BACKEND, `NATS stream ${ctx.stream}: following failed: ${reason(err)}`, {
          cause: err,
        });
      } finally {
        opts.signal?.removeEventListener('abort', stop);
        unregister();
        stop();
      }
    },
  };
}
