/**
 * @module NatsEventLog: the scale-out EventLog backend on one NATS JetStream stream.
 *
 * Offsets are stream sequence numbers; partitions (and event types) are subjects
 * `<prefix>.p.<n>.<type>` of that one stream, so stream order is both global and per-key order. Duplicates are suppressed by JetStream itself
 * (a `Nats-Msg-Id` derived from `(source, id)` within the stream's duplicate window), so every
 * process appending to the stream shares one dedup state. Retention (`max_age`, `max_bytes`) is
 * enforced continuously by the server. Committed offsets live in a KV bucket. See docs/BACKENDS.md.
 */
import { createHash } from 'node:crypto';
import type { StreamInfo } from '@nats-io/jetstream';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { hasControlCharacters, partitionKeyOf, partitionOf } from '../../core/event.js';
import type { AppendResult, EventLog, LogStats } from '../../ports/event-log.js';
import { openNatsSession, reason } from './connect.js';
import { followStream } from './follow.js';
import { openOffsetStore } from './offsets.js';
import { type NatsEventLogOptions, resolveNatsEventLogOptions } from './options.js';
import { createPublisher } from './publisher.js';
import { createScanner } from './scan.js';
import { ensureStream, subjectLayout } from './stream.js';

export type { NatsEventLogOptions } from './options.js';

/** Bytes a message's subject and headers may need beside the event (kept free below max_payload). */
const HEADROOM_BYTES = 512;
const LATEST_DATE_MS = 8_640_000_000_000_000;

/** The `Nats-Msg-Id` of an event: 128 bits of SHA-256 over `source \0 id`, base64url. */
export function messageIdOf(source: string, id: string): string {
  return createHash('sha256').update(source).update('\0').update(id).digest('base64url').slice(0, 22);
}

/**
 * Connects to NATS, checks that JetStream is there, creates or opens the log's stream and offsets
 * bucket, and returns the log. Throws E_BACKEND when NATS cannot be reached and E_CONFIG_INVALID when
 * JetStream is off or the stream contradicts the options (partitions, subjects, storage).
 */
export async function createNatsEventLog(options: NatsEventLogOptions = {}): Promise<EventLog> {
  const o = resolveNatsEventLogOptions(options);
  const session = await openNatsSession(o);
  const { nc, jsm, js, where } = session;
  const layout = subjectLayout(o.subjectPrefix);
  let info: StreamInfo;
  let offsets: Awaited<ReturnType<typeof openOffsetStore>>;
  try {
    info = await ensureStream(jsm, o, layout);
    offsets = await openOffsetStore(js, {
      bucket: o.offsetsBucket,
      replicas: o.replicas,
      storage: o.storage,
      timeoutMs: o.timeoutMs,
    });
  } catch (err) {
    if (session.owned) await nc.close().catch(() => undefined);
    throw err;
  }
  const dedup = o.dedupWindowMs > 0;
  const maxPayload = (nc.info?.max_payload ?? 1_048_576) - HEADROOM_BYTES;
  const publisher = createPublisher(nc, o.stream, o.timeoutMs);
  const encoder = new TextEncoder();

  let closed = false;
  let connectionLost = false;
  const inFlight = new Set<Promise<unknown>>();
  const followers = new Set<() => void>();

  function boundsOf(i: StreamInfo): { first: number; next: number; count: number; bytes: number } {
    const next = i.state.last_seq + 1;
    return {
      first: i.state.messages > 0 ? i.state.first_seq : next,
      next,
      count: i.state.messages,
      bytes: i.state.bytes,
    };
  }
  let lastFirst = boundsOf(info).first;

  async function streamBounds(): Promise<ReturnType<typeof boundsOf>> {
    try {
      return boundsOf(await jsm.streams.info(o.stream));
    } catch (err) {
      const message = `NATS stream ${o.stream}: reading stream info failed: ${reason(err)}`;
      throw new HomeostatError(ErrorCode.BACKEND, message, { cause: err });
    }
  }

  const scanner = createScanner({ nc, jsm, stream: o.stream, layout, timeoutMs: o.timeoutMs, bounds: streamBounds });

  async function offsetAt(time: number): Promise<number> {
    if (time <= LATEST_DATE_MS) {
      const found = await scanner.offsetAtTime(Math.max(0, time));
      if (found !== undefined) return found;
    }
    return (await streamBounds()).next;
  }

  // Connection state for health(): the client reconnects by itself; appends fail meanwhile.
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') connectionLost = true;
      else if (s.type === 'reconnect') connectionLost = false;
    }
  })().catch(() => undefined);

  function closedError(): HomeostatError {
    return new HomeostatError(ErrorCode.CLOSED, 'the event log is closed');
  }

  function ensureOpen(): void {
    if (closed) throw closedError();
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  async function publishAll(subjects: string[], texts: string[], ids: (string | undefined)[]): Promise<AppendResult[]> {
    // Every publish leaves now, in order; the acks are awaited together.
    const acks = subjects.map((s, i) => publisher.publish(s, texts[i]!, ids[i]));
    const settled = await Promise.allSettled(acks);
    return settled.map((r, i) => {
      if (r.status === 'rejected') throw r.reason;
      const ack = r.value;
      if (ack.duplicate) return { status: 'duplicate', offset: ack.seq };
      return { status: 'accepted', offset: ack.seq, partition: layout.partitionOf(subjects[i]!) };
    });
  }

  const api: EventLog = {
    append(events, encoded) {
      if (closed) return Promise.reject(closedError());
      if (events.length === 0) return Promise.resolve([]);
      const subjects: string[] = [];
      const texts: string[] = [];
      const ids: (string | undefined)[] = [];
      for (let i = 0; i < events.length; i++) {
        const ev = events[i]!;
        if (hasControlCharacters(ev.source) || hasControlCharacters(ev.id) || hasControlCharacters(ev.type)) {
          return Promise.reject(
            new HomeostatError(
              ErrorCode.EVENT_INVALID,
              `event ${i}: source, id and type must not contain control characters`,
            ),
          );
        }
        const text = encoded?.[i] ?? JSON.stringify(ev);
        const size = text.length * 3 > maxPayload ? encoder.encode(text).length : text.length;
        if (size > maxPayload) {
          return Promise.reject(
            new HomeostatError(
              ErrorCode.EVENT_TOO_LARGE,
              `event ${i}: ${size} bytes is more than the NATS server at ${where} takes in one message (max_payload ${maxPayload + HEADROOM_BYTES} bytes, less ${HEADROOM_BYTES} for subject and headers); send smaller events or raise max_payload`,
            ),
          );
        }
        subjects.push(layout.subjectOf(partitionOf(partitionKeyOf(ev), o.partitions), ev.type));
        texts.push(text);
        ids.push(dedup ? messageIdOf(ev.source, ev.id) : undefined);
      }
      return track(publishAll(subjects, texts, ids));
    },

    async read(opts = {}) {
      ensureOpen();
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 10_000);
      return scanner.scan({ from: opts.from, partitions: opts.partitions, order: 'asc', limit });
    },

    async offsetAt(time) {
      ensureOpen();
      return offsetAt(time);
    },

    async query(opts = {}) {
      ensureOpen();
      const order = opts.order ?? 'asc';
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1_000);
      let from = opts.since === undefined ? undefined : await offsetAt(opts.since);
      let to = opts.until === undefined ? undefined : await offsetAt(opts.until);
      if (opts.after !== undefined) {
        if (order === 'asc') from = Math.max(from ?? 0, opts.after + 1);
        else to = Math.min(to ?? Number.MAX_SAFE_INTEGER, opts.after);
      }
      if (from !== undefined && to !== undefined && from >= to) return [];
      return scanner.scan({
        types: opts.types,
        sources: opts.sources,
        subjects: opts.subjects,
        from,
        to,
        order,
        limit,
      });
    },

    follow(opts = {}) {
      return followStream(
        {
          js,
          stream: o.stream,
          layout,
          isClosed: () => closed,
          nextOffset: async () => (await streamBounds()).next,
          offsetAt,
          onClose: (stop) => {
            followers.add(stop);
            return () => followers.delete(stop);
          },
        },
        opts,
      );
    },

    async commitOffset(consumer, offset, reset = false) {
      ensureOpen();
      await track(offsets.commit(consumer, offset, reset));
    },

    async committedOffset(consumer) {
      ensureOpen();
      return offsets.get(consumer);
    },

    async enforceRetention() {
      ensureOpen();
      // The server enforces max_age and max_bytes continuously; report what it removed since last asked.
      const { first } = await streamBounds();
      const removed = Math.max(0, first - lastFirst);
      lastFirst = Math.max(lastFirst, first);
      return { removed };
    },

    health() {
      if (closed) return ['event log closed'];
      if (nc.isClosed()) return [`NATS connection to ${where} closed`];
      if (connectionLost) return [`NATS connection to ${where} lost; reconnecting`];
      return [];
    },

    async stats(): Promise<LogStats> {
      ensureOpen();
      const b = await streamBounds();
      return { firstOffset: b.first, nextOffset: b.next, count: b.count, bytes: b.bytes, partitions: o.partitions };
    },

    async close() {
      if (closed) return;
      closed = true;
      // Appends and commits under way finish first (their acks are on the way), then readers stop.
      await Promise.allSettled([...inFlight]);
      for (const stop of [...followers]) stop();
      await scanner.close();
      publisher.close();
      if (session.owned && !nc.isClosed()) await nc.drain().catch(() => undefined);
    },
  };
  return api;
}
