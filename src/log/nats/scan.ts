/**
 * @module Range reads over the stream. Each read opens a short-lived ephemeral pull consumer
 * (no acks, memory storage) at a start sequence or time, pulls pages with a short expiry (the
 * server answers with what it has; a read never waits long for new messages), and deletes
 * the consumer. One partition, or up to eight event types, are filtered by the server through
 * subject filters (a consumer per type); other conditions are checked here. Descending reads scan
 * windows from the top down.
 */
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';
import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { LogRecord } from '../../ports/event-log.js';
import { reason } from './connect.js';
import { parseAckReply, type RawMessage, type RecordFilter, recordPredicate, toRecord } from './records.js';
import type { SubjectLayout } from './stream.js';

export interface ScanRequest extends RecordFilter {
  /** Offsets in [from, to). */
  readonly from?: number;
  readonly to?: number;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
}

export interface Scanner {
  scan(req: ScanRequest): Promise<LogRecord[]>;
  /** The first retained offset appended at or after `time`, or undefined when none is. */
  offsetAtTime(time: number): Promise<number | undefined>;
  /** Ends pulls under way and waits for consumer clean-ups. */
  close(): Promise<void>;
}

export interface ScannerContext {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly layout: SubjectLayout;
  readonly timeoutMs: number;
  /** The first retained offset and the next offset, from stream info. */
  readonly bounds: () => Promise<{ readonly first: number; readonly next: number }>;
}

/** Messages a pull asks for when records are filtered here (one page). */
const FILTERED_PAGE = 256;
/** A pull the server never answered (seen rarely under load); the scan retries it this often. */
const NO_ANSWER_RETRIES = 2;

class NoAnswer extends Error {
  constructor(override readonly cause: HomeostatError) {
    super(cause.message);
  }
}

/** How long the server may hold a pull for messages it counted: 250 ms. */
const PULL_EXPIRES_NS = 250_000_000;
/** How long a pull that confirms the end of a range waits for anything more: 20 ms. */
const CONFIRM_EXPIRES_NS = 20_000_000;
/** Largest window of a descending scan filtered here. */
const MAX_WINDOW = 8_192;
/** A server-filtered descending window matching more than this (and 4× the records needed) is narrowed. */
const NARROW_ABOVE = 1_024;
/** Up to this many types are filtered by the server (one consumer each); more are filtered here. */
const MAX_TYPE_FILTERS = 8;
/** A forgotten read consumer is removed by the server after this long. */
const INACTIVE_THRESHOLD_NS = 60_000 * 1_000_000;

interface Pull {
  readonly want: number;
  readonly msgs: RawMessage[];
  readonly done: (end: boolean) => void;
  readonly fail: (err: Error) => void;
}

interface Cursor {
  /** Messages the consumer had to deliver when it was created. */
  readonly pending: number;
  /** Pulls at most `batch` messages; `end` when the server had no more at that moment. */
  pull(batch: number, expiresNs: number): Promise<{ msgs: RawMessage[]; end: boolean }>;
  close(): void;
}

type Start = { readonly seq: number } | { readonly time: number };

interface Probe {
  readonly name: string;
  readonly pending: number;
}

interface Plan {
  /** One cursor per subject filter; `[undefined]` for one unfiltered cursor. */
  readonly filters: readonly (string | undefined)[];
  /** Every condition of the request (undefined: keep all). */
  readonly keep: ((rec: LogRecord) => boolean) | undefined;
  /** Whether `keep` drops records the subject filters let through. */
  readonly residual: boolean;
}

export function createScanner(ctx: ScannerContext): Scanner {
  const { nc, jsm, stream, layout, timeoutMs } = ctx;
  const cleanups = new Set<Promise<unknown>>();
  const active = new Set<Pull>();

  function backend(what: string, err: unknown): HomeostatError {
    return new HomeostatError(ErrorCode.BACKEND, `NATS stream ${stream}: ${what} failed: ${reason(err)}`, {
      cause: err,
    });
  }

  /** Creates a read consumer; `pending` is how many messages it has to deliver from its start. */
  async function createConsumer(start: Start, filterSubject: string | undefined): Promise<Probe> {
    const config: Partial<ConsumerConfig> = {
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: INACTIVE_THRESHOLD_NS,
      ...(filterSubject === undefined ? {} : { filter_subject: filterSubject }),
      ...('time' in start
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(start.time).toISOString() }
        : start.seq > 1
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq }
          : { deliver_policy: DeliverPolicy.All }),
    };
    try {
      const info = await jsm.consumers.add(stream, config);
      return { name: info.name, pending: info.num_pending };
    } catch (err) {
      throw backend('opening a read consumer', err);
    }
  }

  /** Deletes a read consumer in the background (close() waits for these). */
  function dropConsumer(name: string): void {
    const p = jsm.consumers
      .delete(stream, name)
      .catch(() => undefined)
      .finally(() => cleanups.delete(p));
    cleanups.add(p);
  }

  /** How many messages through `filters` have a sequence at or above `seq` (one probe consumer each). */
  async function countFrom(seq: number, filters: readonly (string | undefined)[]): Promise<number> {
    const counts = await Promise.all(
      filters.map(async (f) => {
        const probe = await createConsumer({ seq }, f);
        dropConsumer(probe.name);
        return probe.pending;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  async function openCursor(start: Start, filterSubject: string | undefined): Promise<Cursor> {
    const { name, pending } = await createConsumer(start, filterSubject);
    const nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`;
    // Deliveries keep their stream subject, so replies are told apart by subscription: one per cursor.
    const inbox = createInbox();
    let current: Pull | undefined;
    const sub = nc.subscribe(inbox, {
      callback: (err, msg) => {
        const pull = current;
        if (pull === undefined) return;
        if (err) {
          pull.fail(err);
          return;
        }
        const status = msg.headers?.code ?? 0;
        if (msg.data.length === 0 && status >= 100) {
          if (status === 100) return; // idle heartbeat
          // 404 No Messages / 408 Request Timeout end a pull that found fewer than asked for.
          if (status === 404 || status === 408) pull.done(true);
          else pull.fail(new Error(`pull ended with ${status} ${msg.headers?.description ?? ''}`.trim()));
          return;
        }
        const at = parseAckReply(msg.reply);
        if (at === undefined) return;
        pull.msgs.push({ seq: at.seq, appendedAt: at.appendedAt, subject: msg.subject, data: msg.data });
        if (pull.msgs.length >= pull.want) pull.done(false);
      },
    });
    return {
      pending,
      pull(batch, expiresNs) {
        return new Promise((resolve, reject) => {
          const msgs: RawMessage[] = [];
          const finish = (): void => {
            clearTimeout(timer);
            active.delete(pull);
            current = undefined;
          };
          const timer = setTimeout(() => {
            finish();
            reject(new NoAnswer(backend(`reading (no answer within ${timeoutMs} ms)`, new Error('timeout'))));
          }, timeoutMs);
          const pull: Pull = {
            want: batch,
            msgs,
            done: (end) => {
              finish();
              resolve({ msgs, end });
            },
            fail: (err) => {
              finish();
              reject(backend('reading', err));
            },
          };
          current = pull;
          active.add(pull);
          try {
            // The messages asked for are known to exist (the consumer's pending count), so the
            // server answers at once; `expires` only bounds a pull that finds fewer (408 at expiry).
            nc.publish(nextSubject, JSON.stringify({ batch, expires: expiresNs }), { reply: inbox });
          } catch (err) {
            pull.fail(err as Error);
          }
        });
      },
      close() {
        sub.unsubscribe();
        dropConsumer(name);
      },
    };
  }

  /** How a request splits into the server's subject filters and the predicate applied here. */
  function plan(req: ScanRequest): Plan {
    const keep = recordPredicate(req);
    if (req.partitions?.length === 1) {
      const p = req.partitions[0]!;
      return { filters: [layout.partitionFilter(p)], keep, residual: !!recordPredicate({ ...req, partitions: [] }) };
    }
    const types = [...new Set(req.types ?? [])];
    if (types.length > 0 && types.length <= MAX_TYPE_FILTERS) {
      // The predicate checks the type again: harmless, and exact even if two type tokens collided.
      return { filters: types.map(layout.typeFilter), keep, residual: !!recordPredicate({ ...req, types: [] }) };
    }
    return { filters: [undefined], keep, residual: keep !== undefined };
  }

  /** Ascending scan of [from, to) through one subject filter until `limit` records are kept. */
  async function scanOne(
    req: ScanRequest,
    filter: string | undefined,
    p: Plan,
    limit: number,
    opened?: Cursor,
  ): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    let cursorSeq = Math.max(req.from ?? 1, 1);
    if (req.to !== undefined && cursorSeq >= req.to) {
      opened?.close();
      return out;
    }
    let cursor = opened ?? (await openCursor({ seq: cursorSeq }, filter));
    let retries = 0;
    /** A pull that got no answer at all: read on from where it stopped with a new consumer. */
    const pull = async (batch: number, expiresNs: number): Promise<RawMessage[]> => {
      for (;;) {
        try {
          return (await cursor.pull(batch, expiresNs)).msgs;
        } catch (err) {
          if (!(err instanceof NoAnswer)) throw err;
          if (retries >= NO_ANSWER_RETRIES) throw err.cause;
          retries++;
          cursor.close();
          cursor = await openCursor({ seq: cursorSeq }, filter);
        }
      }
    };
    try {
      // The consumer's pending count is only a hint: nats-server 2.9 miscounts some filtered
      // consumers (both ways). While it says more, pages are asked for with a longer expiry (the
      // server answers as soon as they are there); once it says none, a short pull confirms the
      // end, and messages it still brings are taken and confirmed again.
      let remaining = cursor.pending;
      while (out.length < limit) {
        const confirming = remaining <= 0;
        let batch = p.residual ? FILTERED_PAGE : limit - out.length;
        if (!confirming) batch = Math.min(batch, remaining);
        // Sequences are unique, so [cursorSeq, to) holds at most to - cursorSeq messages.
        if (req.to !== undefined) batch = Math.min(batch, req.to - cursorSeq);
        if (batch <= 0) break;
        const msgs = await pull(batch, confirming ? CONFIRM_EXPIRES_NS : PULL_EXPIRES_NS);
        remaining -= msgs.length;
        for (const m of msgs) {
          if (req.to !== undefined && m.seq >= req.to) return out;
          cursorSeq = m.seq + 1;
          const rec = toRecord(m, layout);
          if (rec === undefined || (p.keep !== undefined && !p.keep(rec))) continue;
          out.push(rec);
          if (out.length >= limit) return out;
        }
        if (msgs.length === 0) {
          if (confirming) break;
          remaining = 0; // counted more than there was
        }
      }
      return out;
    } finally {
      cursor.close();
    }
  }

  /** Ascending scan: one cursor per subject filter (at once), merged in offset order. */
  async function scanAsc(req: ScanRequest, p: Plan, limit: number, opened?: readonly Cursor[]): Promise<LogRecord[]> {
    if (p.filters.length === 1) return scanOne(req, p.filters[0], p, limit, opened?.[0]);
    const parts = await Promise.all(p.filters.map((f, i) => scanOne(req, f, p, limit, opened?.[i])));
    const merged = parts.flat().sort((a, b) => a.offset - b.offset);
    return merged.filter((r, i) => i === 0 || merged[i - 1]!.offset !== r.offset).slice(0, limit);
  }

  /**
   * Descending scan: ascending scans of windows below `to`, each larger than the last. Where the
   * server's subject filters do all the filtering, a window costs what it matches rather than its
   * size, so windows grow fast and without a cap; the matches in a window are counted first (the
   * pending count of a consumer at its start, less those above it) and a window holding far more
   * than needed is narrowed by bisection, so a type that was common long ago is not fetched in
   * bulk. Otherwise every message of a window comes here, so windows stay bounded.
   */
  async function scanDesc(req: ScanRequest, p: Plan): Promise<LogRecord[]> {
    const bounds = await ctx.bounds();
    let hi = Math.min(req.to ?? bounds.next, bounds.next);
    const lo = Math.max(req.from ?? bounds.first, bounds.first, 1);
    const serverFiltered = p.filters[0] !== undefined && !p.residual;
    let window = p.keep === undefined ? req.limit : Math.max(FILTERED_PAGE, req.limit * 2);
    // Matches at or above `hi` (only tracked when the server does the filtering).
    let above = serverFiltered && hi < bounds.next ? await countFrom(hi, p.filters) : 0;
    const out: LogRecord[] = [];
    while (out.length < req.limit && hi > lo) {
      let start = Math.max(lo, hi - window);
      let fromStart = 0;
      let opened: Cursor[] | undefined;
      if (serverFiltered) {
        const needed = req.limit - out.length;
        const enough = Math.max(needed * 4, NARROW_ABOVE);
        // The window's own cursors count its matches; they are kept for the scan unless it narrows.
        opened = await Promise.all(p.filters.map((f) => openCursor({ seq: start }, f)));
        fromStart = opened.reduce((n, c) => n + c.pending, 0);
        if (fromStart - above > enough) {
          for (const c of opened) c.close();
          opened = undefined;
          // Largest start whose window still holds `needed`: keep [a, hi) >= needed, [b, hi) < needed.
          let a = start;
          let b = hi;
          while (b - a > 1) {
            const mid = Math.floor((a + b) / 2);
            const count = await countFrom(mid, p.filters);
            if (count - above < needed) {
              b = mid;
              continue;
            }
            a = mid;
            fromStart = count;
            if (count - above <= enough) break;
          }
          start = a;
        }
      }
      const page = await scanAsc({ ...req, from: start, to: hi }, p, hi - start, opened);
      for (let i = page.length - 1; i >= 0 && out.length < req.limit; i--) out.push(page[i]!);
      hi = start;
      above = fromStart;
      window = serverFiltered ? window * 4 : Math.min(window * 2, MAX_WINDOW);
    }
    return out;
  }

  return {
    async scan(req) {
      const p = plan(req);
      return req.order === 'desc' ? scanDesc(req, p) : scanAsc(req, p, req.limit);
    },

    async offsetAtTime(time) {
      const cursor = await openCursor({ time }, undefined);
      try {
        if (cursor.pending === 0) return undefined;
        const { msgs } = await cursor.pull(1, PULL_EXPIRES_NS).catch((err: unknown) => {
          throw err instanceof NoAnswer ? err.cause : err;
        });
        return msgs[0]?.seq;
      } finally {
        cursor.close();
      }
    },

    async close() {
      for (const p of [...active]) p.fail(new Error('the event log is closed'));
      await Promise.allSettled([...cleanups]);
    },
  };
}
