/** @module Stored JetStream messages as log records, and the record filters reads and follows apply. */
import type { CloudEvent } from '../../core/event.js';
import { partitionKeyOf } from '../../core/event.js';
import type { LogRecord, QueryFilter } from '../../ports/event-log.js';
import type { SubjectLayout } from './stream.js';

/** A message as a consumer delivers it, before decoding. */
export interface RawMessage {
  readonly seq: number;
  /** The server's store time, ms since the epoch. */
  readonly appendedAt: number;
  readonly subject: string;
  readonly data: Uint8Array;
}

/**
 * Stream sequence and store time from a consumer delivery's reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ns>.<pending>` (9 tokens), or the
 * 12-token form with domain and account hash after `ACK`.
 */
export function parseAckReply(reply: string | undefined): { seq: number; appendedAt: number } | undefined {
  if (reply === undefined) return undefined;
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK' || (t.length !== 9 && t.length < 11)) return undefined;
  const o = t.length === 9 ? 0 : 2;
  const seq = Number(t[5 + o]);
  const ns = t[7 + o] ?? '';
  // Nanoseconds exceed 2^53: cut the last six digits as text instead of dividing a rounded number.
  const appendedAt = ns.length > 6 ? Number(ns.slice(0, -6)) : 0;
  return Number.isInteger(seq) ? { seq, appendedAt } : undefined;
}

const decoder = new TextDecoder();

/**
 * Decodes a stored message; undefined for anything that is not a JSON object on one of the log's
 * partition subjects (foreign or damaged messages are skipped rather than stopping every reader).
 */
export function toRecord(raw: RawMessage, layout: SubjectLayout): LogRecord | undefined {
  const partition = layout.partitionOf(raw.subject);
  if (partition < 0) return undefined;
  let event: CloudEvent;
  try {
    event = JSON.parse(decoder.decode(raw.data)) as CloudEvent;
  } catch {
    return undefined;
  }
  if (event === null || typeof event !== 'object' || typeof event.id !== 'string') return undefined;
  return { offset: raw.seq, partition, partitionKey: partitionKeyOf(event), appendedAt: raw.appendedAt, event };
}

export interface RecordFilter extends Pick<QueryFilter, 'types' | 'sources' | 'subjects'> {
  readonly partitions?: readonly number[];
}

function anyOf(values: readonly string[] | undefined): ReadonlySet<string> | undefined {
  return values === undefined || values.length === 0 ? undefined : new Set(values);
}

/** The predicate of a filter (all conditions hold), or undefined when it keeps everything. */
export function recordPredicate(f: RecordFilter): ((rec: LogRecord) => boolean) | undefined {
  const types = anyOf(f.types);
  const sources = anyOf(f.sources);
  const subjects = anyOf(f.subjects);
  const parts = f.partitions !== undefined && f.partitions.length > 0 ? new Set(f.partitions) : undefined;
  if (!types && !sources && !subjects && !parts) return undefined;
  return (rec) =>
    (types === undefined || types.has(rec.event.type)) &&
    (sources === undefined || sources.has(rec.event.source)) &&
    (subjects === undefined || (rec.event.subject !== undefined && subjects.has(rec.event.subject))) &&
    (parts === undefined || parts.has(rec.partition));
}
