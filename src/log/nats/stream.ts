/**
 * @module The log's JetStream stream and its subjects: created on first open, checked (partitions,
 * subjects, storage) and brought in line with the retention options on every open.
 */
import { createHash } from 'node:crypto';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  type StreamConfig,
  type StreamInfo,
  StorageType,
} from '@nats-io/jetstream';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { reason } from './connect.js';
import { duplicateWindowMs, type ResolvedNatsEventLogOptions } from './options.js';

const NS_PER_MS = 1_000_000;
/** JetStream's own default, which it applies when the window is 0. */
const SERVER_DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

/**
 * The subjects of a log: `<prefix>.p.<partition>.<type token>`. All sit in one stream, so stream
 * order is append order (and per-key order); the type token lets a consumer's subject filter pick
 * one event type, which the server answers from its per-block subject index instead of shipping
 * every message here to be filtered.
 */
export interface SubjectLayout {
  /** `<prefix>.p.` */
  readonly base: string;
  /** The stream's subject: `<prefix>.p.*.*`. */
  readonly all: string;
  subjectOf(partition: number, type: string): string;
  /** A subject filter for one partition. */
  partitionFilter(partition: number): string;
  /** A subject filter for one event type. */
  typeFilter(type: string): string;
  /** The partition a stored message's subject names, or -1 when it is not one of the log's subjects. */
  partitionOf(subject: string): number;
}

/** Type tokens longer than this are replaced by a hash (subjects must stay short). */
const MAX_TYPE_TOKEN = 160;

/**
 * A subject token for an event type: letters, digits, `_` and `-` as they are, every other UTF-8
 * byte as `=XX` (so `infra.metrics` is `infra=2Emetrics`); a long or empty type becomes `=Z` and
 * a hash (`=Z` never comes out of the escaping, so the two forms cannot meet).
 */
export function typeToken(type: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(type)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(ch) ? ch : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length > MAX_TYPE_TOKEN) break;
  }
  if (out.length === 0 || out.length > MAX_TYPE_TOKEN) {
    return `=Z${createHash('sha256').update(type).digest('base64url').slice(0, 22)}`;
  }
  return out;
}

export function subjectLayout(prefix: string): SubjectLayout {
  const base = `${prefix}.p.`;
  // Event types repeat: remember their tokens (bounded; cleared when full).
  const tokens = new Map<string, string>();
  const tokenOf = (type: string): string => {
    let t = tokens.get(type);
    if (t === undefined) {
      if (tokens.size >= 10_000) tokens.clear();
      t = typeToken(type);
      tokens.set(type, t);
    }
    return t;
  };
  return {
    base,
    all: `${base}*.*`,
    subjectOf: (p, type) => `${base}${p}.${tokenOf(type)}`,
    partitionFilter: (p) => `${base}${p}.*`,
    typeFilter: (type) => `${base}*.${tokenOf(type)}`,
    partitionOf(subject) {
      if (!subject.startsWith(base)) return -1;
      const dot = subject.indexOf('.', base.length);
      const n = Number(subject.slice(base.length, dot < 0 ? undefined : dot));
      return Number.isInteger(n) && n >= 0 ? n : -1;
    },
  };
}

/** The stream's description records the partition count (nats-server 2.9 has no stream metadata). */
function describe(o: ResolvedNatsEventLogOptions): string {
  return `Homeostat event log '${o.name}' (partitions=${o.partitions}; the count cannot change)`;
}

function partitionsIn(description: string | undefined): number | undefined {
  const m = /partitions=(\d+)/.exec(description ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** What the stream should be; the retention fields are re-applied on every open. */
function wantedConfig(o: ResolvedNatsEventLogOptions, layout: SubjectLayout): Partial<StreamConfig> & { name: string } {
  return {
    name: o.stream,
    description: describe(o),
    subjects: [layout.all],
    retention: RetentionPolicy.Limits,
    storage: o.storage === 'memory' ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs: -1,
    max_age: o.maxAgeMs * NS_PER_MS,
    max_bytes: o.maxBytes > 0 ? o.maxBytes : -1,
    duplicate_window: effectiveDuplicateWindowMs(o) * NS_PER_MS,
    num_replicas: o.replicas,
  };
}

/** The window JetStream will hold message ids for (its 2-minute default stands in when dedup is off). */
export function effectiveDuplicateWindowMs(o: ResolvedNatsEventLogOptions): number {
  const w = duplicateWindowMs(o);
  if (w > 0) return w;
  return o.maxAgeMs > 0 ? Math.min(SERVER_DEFAULT_DUPLICATE_WINDOW_MS, o.maxAgeMs) : SERVER_DEFAULT_DUPLICATE_WINDOW_MS;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** Creates the stream or checks and updates the existing one; returns its info. */
export async function ensureStream(
  jsm: JetStreamManager,
  o: ResolvedNatsEventLogOptions,
  layout: SubjectLayout,
): Promise<StreamInfo> {
  const wanted = wantedConfig(o, layout);
  const fail = (what: string, err: unknown): HomeostatError =>
    err instanceof HomeostatError
      ? err
      : new HomeostatError(ErrorCode.BACKEND, `NATS stream ${o.stream}: ${what} failed: ${reason(err)}`, {
          cause: err,
        });
  for (let attempt = 0; attempt < 3; attempt++) {
    let info: StreamInfo | undefined;
    try {
      info = await jsm.streams.info(o.stream);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw fail('reading stream info', err);
    }
    if (info === undefined) {
      try {
        return await jsm.streams.add(wanted);
      } catch (err) {
        // Another process created it meanwhile: check theirs on the next turn.
        if (attempt < 2 && /already in use/i.test(reason(err))) continue;
        throw fail('creating the stream', err);
      }
    }
    checkExisting(info, o, layout);
    const changes = retentionChanges(info.config, wanted);
    if (changes === undefined) return info;
    try {
      return await jsm.streams.update(o.stream, { ...info.config, ...changes });
    } catch (err) {
      throw fail(`updating retention (${Object.keys(changes).join(', ')})`, err);
    }
  }
  throw new HomeostatError(ErrorCode.BACKEND, `NATS stream ${o.stream}: could not create or open it; retry`);
}

function checkExisting(info: StreamInfo, o: ResolvedNatsEventLogOptions, layout: SubjectLayout): void {
  const stored = partitionsIn(info.config.description);
  if (stored === undefined) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `NATS stream ${o.stream} exists but was not created by Homeostat (its description has no partitions=); set log.nats.name (or log.nats.stream) to another name, or delete the stream`,
    );
  }
  if (stored !== o.partitions) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `log.partitions: the log in NATS stream ${o.stream} was created with ${stored} partitions, the configuration asks for ${o.partitions}; set log.partitions to ${stored} (the count cannot change without breaking per-key order)`,
    );
  }
  const subject = layout.all;
  if (!(info.config.subjects ?? []).includes(subject)) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `log.nats.subjectPrefix: NATS stream ${o.stream} takes subjects ${JSON.stringify(info.config.subjects)}, not ${subject}; set log.nats.subjectPrefix to the one it was created with`,
    );
  }
  const storage = o.storage === 'memory' ? StorageType.Memory : StorageType.File;
  if (info.config.storage !== storage) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `log.nats.storage: NATS stream ${o.stream} uses ${info.config.storage} storage, the configuration asks for ${storage}; a stream's storage cannot change`,
    );
  }
}

/** The retention fields that differ from what is wanted, or undefined when none do. */
function retentionChanges(current: StreamConfig, wanted: Partial<StreamConfig>): Partial<StreamConfig> | undefined {
  const changes: Partial<StreamConfig> = {};
  let any = false;
  for (const key of ['max_age', 'max_bytes', 'duplicate_window', 'num_replicas', 'discard'] as const) {
    if (wanted[key] !== undefined && current[key] !== wanted[key]) {
      Object.assign(changes, { [key]: wanted[key] });
      any = true;
    }
  }
  return any ? changes : undefined;
}
