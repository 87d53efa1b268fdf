/** @module Options of the NATS JetStream event log: user input, checked and defaulted once. */
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HomeostatError, type Problem } from '../../core/errors.js';
import type { EventLogOptions } from '../../ports/event-log.js';

/** How to reach NATS and which stream, subjects and bucket a log uses. Retention comes from EventLogOptions. */
export interface NatsEventLogOptions extends Partial<EventLogOptions> {
  /** NATS server URL(s). Default `nats://127.0.0.1:4222`. */
  readonly servers?: string | readonly string[];
  /**
   * The log's name: letters, digits, `_` and `-`, at most 64 characters. Default `events`.
   * The stream, subjects and offsets bucket are named after it unless set below.
   */
  readonly name?: string;
  /** JetStream stream name. Default `HOMEOSTAT_<name>`. */
  readonly stream?: string;
  /** Subjects are `<subjectPrefix>.p.<partition>`. Default `homeostat.<name>`. */
  readonly subjectPrefix?: string;
  /** KV bucket that holds committed consumer offsets. Default `<stream>_offsets`. */
  readonly offsetsBucket?: string;
  /** Stream and bucket replicas (1 to 5; 3 for a clustered production setup). Default 1. */
  readonly replicas?: number;
  /** Stream storage. Default `file` (`memory` loses events when the server restarts). */
  readonly storage?: 'file' | 'memory';
  /** Timeout for connecting, for each JetStream API call and for each publish acknowledgement (ms). Default 5000. */
  readonly timeoutMs?: number;
  /** Client name shown by the server's monitoring. Default `homeostat`. */
  readonly connectionName?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /**
   * Use this open connection instead of connecting; `close()` then leaves it open. `servers`,
   * `user`, `pass`, `token` and `connectionName` are ignored.
   */
  readonly connection?: NatsConnection;
}

export interface ResolvedNatsEventLogOptions {
  readonly servers: readonly string[];
  readonly name: string;
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly offsetsBucket: string;
  readonly partitions: number;
  readonly dedupWindowMs: number;
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  readonly replicas: number;
  readonly storage: 'file' | 'memory';
  readonly timeoutMs: number;
  readonly connectionName: string;
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly token: string | undefined;
  readonly connection: NatsConnection | undefined;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Checks and defaults the options; every problem is reported in one E_CONFIG_INVALID error. */
export function resolveNatsEventLogOptions(options: NatsEventLogOptions): ResolvedNatsEventLogOptions {
  const problems: Problem[] = [];
  const problem = (field: string, message: string): void => {
    problems.push({ pointer: `log.nats.${field}`, message });
  };
  const name = options.name ?? 'events';
  if (!NAME.test(name)) problem('name', `'${name}' is not allowed; use 1 to 64 letters, digits, '_' or '-'`);
  const stream = options.stream ?? `HOMEOSTAT_${name}`;
  if (!NAME.test(stream)) {
    problem('stream', `'${stream}' is not a usable stream name; use 1 to 64 letters, digits, '_' or '-'`);
  }
  const subjectPrefix = options.subjectPrefix ?? `homeostat.${name}`;
  if (!SUBJECT_PREFIX.test(subjectPrefix) || subjectPrefix.length > 200) {
    problem(
      'subjectPrefix',
      `'${subjectPrefix}' is not a subject prefix; use dot-separated tokens of letters, digits, '_' or '-' (no wildcards)`,
    );
  }
  const offsetsBucket = options.offsetsBucket ?? `${stream}_offsets`;
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(offsetsBucket)) {
    problem('offsetsBucket', `'${offsetsBucket}' is not a KV bucket name; use letters, digits, '_' or '-'`);
  }
  const servers = typeof options.servers === 'string' ? [options.servers] : [...(options.servers ?? [])];
  if (servers.length === 0) servers.push('nats://127.0.0.1:4222');
  for (const s of servers) {
    if (!/^(nats|tls|wss?):\/\/[^\s]+$|^[^\s/:]+(:\d+)?$/.test(s)) {
      problem('servers', `'${s}' is not a server URL; write nats://host:port`);
    }
  }
  const integer = (field: string, value: number, min: number, max: number): number => {
    if (!Number.isInteger(value) || value < min || value > max) {
      problem(field, `${value} is not allowed; use an integer from ${min} to ${max}`);
    }
    return value;
  };
  const partitions = options.partitions ?? 16;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 4096) {
    problems.push({
      pointer: 'log.partitions',
      message: `${partitions} is not allowed; use an integer from 1 to 4096`,
    });
  }
  const dedupWindowMs = integer('dedupWindowMs', options.dedupWindowMs ?? 86_400_000, 0, Number.MAX_SAFE_INTEGER);
  const maxAgeMs = integer('maxAgeMs', options.maxAgeMs ?? 0, 0, Number.MAX_SAFE_INTEGER);
  if (maxAgeMs > 0 && maxAgeMs < 1_000)
    problem('maxAgeMs', `${maxAgeMs} ms is too short; use 0 (keep) or at least 1000`);
  const maxBytes = integer('maxBytes', options.maxBytes ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const replicas = integer('replicas', options.replicas ?? 1, 1, 5);
  const storage = options.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') problem('storage', `'${String(storage)}' is not 'file' or 'memory'`);
  const timeoutMs = integer('timeoutMs', options.timeoutMs ?? 5_000, 100, 600_000);
  if (problems.length > 0) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `invalid NATS event log options: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
      { problems },
    );
  }
  return Object.freeze({
    servers: Object.freeze(servers),
    name,
    stream,
    subjectPrefix,
    offsetsBucket,
    partitions,
    dedupWindowMs,
    maxAgeMs,
    maxBytes,
    replicas,
    storage,
    timeoutMs,
    connectionName: options.connectionName ?? 'homeostat',
    user: options.user,
    pass: options.pass,
    token: options.token,
    connection: options.connection,
  });
}

/** The JetStream duplicate window: the dedup window, but never longer than the retention age (a NATS rule). */
export function duplicateWindowMs(o: ResolvedNatsEventLogOptions): number {
  return o.maxAgeMs > 0 ? Math.min(o.dedupWindowMs, o.maxAgeMs) : o.dedupWindowMs;
}
