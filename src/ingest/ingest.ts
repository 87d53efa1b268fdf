/** @module Ingest: validate envelopes, limits and schemas, append durably, report a result per entry. */
import { ErrorCode, HomeostatError, type Problem } from '../core/errors.js';
import { type CloudEvent, validateCloudEvent } from '../core/event.js';
import type { EventLog } from '../ports/event-log.js';
import { disabledTracing, type EventSpan, type EventTracing } from '../telemetry/event-tracing.js';
import type { SchemaRegistry } from './schema-registry.js';

export type EntryStatus = 'accepted' | 'duplicate' | 'rejected';

export interface EntryResult {
  readonly index: number;
  readonly status: EntryStatus;
  readonly id?: string;
  readonly source?: string;
  readonly offset?: number;
  readonly partition?: number;
  /** Why an entry was rejected: E_EVENT_INVALID, E_EVENT_TOO_LARGE or E_SCHEMA_VIOLATION. */
  readonly code?: ErrorCode;
  readonly problems?: readonly Problem[];
  /** Schema violations in warn mode; the entry was accepted. */
  readonly warnings?: readonly Problem[];
}

export interface IngestReport {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly results: readonly EntryResult[];
}

export interface IngestLimits {
  readonly maxEventBytes: number;
  /** Events validated but not yet durable, across all requests; beyond it: E_BACKPRESSURE. */
  readonly maxPendingEvents: number;
}

export interface IngestRequest {
  readonly entries: readonly unknown[];
  /** True for a batch: JSON pointers then start with the entry index (`/3/time`). */
  readonly batch: boolean;
  /** Size of the request body; when it is within the per-event limit no event can exceed it. */
  readonly bodyBytes: number;
  /** Each entry's JSON text as received (same order), stored as is instead of re-serializing. */
  readonly texts?: readonly string[];
  /**
   * True for events from outside (the HTTP API): sources under `homeostat/` are reserved for what
   * Homeostat publishes itself (condition firings, actions, provider events), so that a client
   * cannot trigger a rule's targets or a policy by imitating them.
   */
  readonly external?: boolean;
}

/** Sources only Homeostat itself may publish under. */
export const RESERVED_SOURCE_PREFIX = 'homeostat/';

/** What the ingestor has seen since it started (for /metrics). */
export interface IngestStats {
  /** Appended events, by origin: `external` (the HTTP API) or `internal` (Homeostat's own). */
  readonly accepted: { external: number; internal: number };
  duplicates: number;
  /** Rejected entries by error code. */
  readonly rejected: Map<string, number>;
}

export interface Ingestor {
  ingest(request: IngestRequest): Promise<IngestReport>;
  /** Events waiting to become durable. */
  pending(): number;
  readonly stats: IngestStats;
}

export interface IngestorDeps {
  readonly log: EventLog;
  readonly schemas: SchemaRegistry;
  readonly limits: IngestLimits;
  /** Gives each appended event a span and a traceparent (see telemetry/event-tracing.ts). */
  readonly tracing?: EventTracing;
}

const BACKPRESSURE_RETRY_MS = 1_000;

/**
 * The correlation ids of recent events Homeostat derived from others, so that a whole causal
 * chain shares its root's correlation id: an internal event with a `causationid` and no
 * `correlationid` gets its cause's correlation id, or the cause's id when the cause is a root.
 */
class Correlations {
  private readonly map = new Map<string, string>();
  constructor(private readonly max: number) {}
  apply(ev: CloudEvent): CloudEvent {
    const cause = typeof ev.causationid === 'string' ? ev.causationid : undefined;
    if (cause === undefined) return ev;
    const own = typeof ev.correlationid === 'string' ? ev.correlationid : undefined;
    const correlation = own ?? this.map.get(cause) ?? cause;
    this.map.set(ev.id, correlation);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    return own === undefined ? { ...ev, correlationid: correlation } : ev;
  }
}

export function createIngestor({ log, schemas, limits, tracing = disabledTracing }: IngestorDeps): Ingestor {
  let pending = 0;
  const stats: IngestStats = { accepted: { external: 0, internal: 0 }, duplicates: 0, rejected: new Map() };
  const correlations = new Correlations(50_000);

  function screen(
    entry: unknown,
    index: number,
    at: string,
    text: string | undefined,
    skipSize: boolean,
    external: boolean,
  ): EntryResult | Problem[] {
    const problems = validateCloudEvent(entry, at);
    const ev = entry as CloudEvent;
    const base = { index, id: idOf(entry), source: sourceOf(entry) };
    if (problems.length === 0 && external && ev.source.startsWith(RESERVED_SOURCE_PREFIX)) {
      const message = `sources under '${RESERVED_SOURCE_PREFIX}' are reserved for events Homeostat publishes itself; use your own source, e.g. '/my-service'`;
      problems.push({ pointer: `${at}/source`, message });
    }
    if (problems.length > 0) return { ...base, status: 'rejected', code: ErrorCode.EVENT_INVALID, problems };
    if (!skipSize) {
      const bytes = Buffer.byteLength(text ?? JSON.stringify(ev));
      if (bytes > limits.maxEventBytes) {
        const message = `event is ${bytes} bytes; at most ${limits.maxEventBytes} bytes (ingest.maxEventSize) are allowed; move large payloads to object storage and send a reference`;
        return {
          ...base,
          status: 'rejected',
          code: ErrorCode.EVENT_TOO_LARGE,
          problems: [{ pointer: at || '/', message }],
        };
      }
    }
    const verdict = schemas.check(ev.type, ev.data, at);
    if (verdict === undefined || verdict.problems.length === 0) return [];
    if (verdict.mode === 'enforce') {
      return { ...base, status: 'rejected', code: ErrorCode.SCHEMA_VIOLATION, problems: verdict.problems };
    }
    return verdict.problems;
  }

  return {
    pending: () => pending,
    stats,

    async ingest({ entries, batch, bodyBytes, texts, external = false }) {
      // A request is refused only while others are pending, so a single large batch can always pass.
      if (pending > 0 && pending + entries.length > limits.maxPendingEvents) {
        throw new HomeostatError(
          ErrorCode.BACKPRESSURE,
          `the write path is saturated (${pending} events waiting to be written); retry after ${BACKPRESSURE_RETRY_MS} ms`,
          { details: { retryAfterMs: BACKPRESSURE_RETRY_MS, pending } },
        );
      }
      const skipSize = bodyBytes <= limits.maxEventBytes;
      const results: (EntryResult | undefined)[] = new Array(entries.length);
      const warnings: (Problem[] | undefined)[] = new Array(entries.length);
      const valid: CloudEvent[] = [];
      const validTexts: string[] | undefined = texts ? [] : undefined;
      const validIndex: number[] = [];
      for (let i = 0; i < entries.length; i++) {
        const outcome = screen(entries[i], i, batch ? `/${i}` : '', texts?.[i], skipSize, external);
        if (Array.isArray(outcome)) {
          if (outcome.length > 0) warnings[i] = outcome;
          // A client's correlation is theirs; Homeostat's own events join their cause's chain.
          const ev = entries[i] as CloudEvent;
          const joined = external ? ev : correlations.apply(ev);
          valid.push(joined);
          validTexts?.push(joined === ev ? texts![i]! : JSON.stringify(joined));
          validIndex.push(i);
        } else {
          results[i] = outcome;
        }
      }
      const spans = tracing.enabled ? stamp(valid, validTexts, external) : undefined;
      pending += valid.length;
      try {
        const appended = valid.length > 0 ? await log.append(valid, validTexts) : [];
        for (let j = 0; j < appended.length; j++) {
          const i = validIndex[j]!;
          const ev = valid[j]!;
          const r = appended[j]!;
          const result: { -readonly [K in keyof EntryResult]: EntryResult[K] } = {
            index: i,
            status: r.status,
            id: ev.id,
            source: ev.source,
            offset: r.offset,
          };
          if (r.status === 'accepted') result.partition = r.partition;
          if (warnings[i]) result.warnings = warnings[i];
          results[i] = result;
          spans?.[j]!.end(r.status);
        }
      } catch (err) {
        for (const span of spans ?? []) span.end('failed');
        throw err;
      } finally {
        pending -= valid.length;
      }
      const report = summarize(results as EntryResult[]);
      count(report, external);
      return report;
    },
  };

  /** Replaces each event by its traced copy (and its text, when it changed). */
  function stamp(valid: CloudEvent[], texts: string[] | undefined, external: boolean): EventSpan[] {
    return valid.map((ev, k) => {
      const span = tracing.startEvent(ev, external);
      if (span.event !== ev) {
        valid[k] = span.event;
        if (texts) texts[k] = JSON.stringify(span.event);
      }
      return span;
    });
  }

  function count(report: IngestReport, external: boolean): void {
    stats.accepted[external ? 'external' : 'internal'] += report.accepted;
    stats.duplicates += report.duplicates;
    if (report.rejected === 0) return;
    for (const r of report.results) {
      if (r.status === 'rejected') stats.rejected.set(r.code!, (stats.rejected.get(r.code!) ?? 0) + 1);
    }
  }
}

function summarize(results: EntryResult[]): IngestReport {
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  for (const r of results) {
    if (r.status === 'accepted') accepted++;
    else if (r.status === 'duplicate') duplicates++;
    else rejected++;
  }
  return { accepted, duplicates, rejected, results };
}

function idOf(entry: unknown): string | undefined {
  const id = (entry as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

function sourceOf(entry: unknown): string | undefined {
  const source = (entry as { source?: unknown } | null)?.source;
  return typeof source === 'string' ? source : undefined;
}
