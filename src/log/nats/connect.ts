/**
 * @module Connecting to NATS and checking what the server offers (version, JetStream) before the
 * log uses it, with errors that say what to do.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { ResolvedNatsEventLogOptions } from './options.js';

/** The oldest nats-server this backend is tested against. */
export const MIN_SERVER_VERSION = '2.9.0';

export interface NatsSession {
  readonly nc: NatsConnection;
  /** Whether this session opened the connection (and so closes it). */
  readonly owned: boolean;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
  /** The server URL(s), for messages. */
  readonly where: string;
}

/** Connects (or adopts `options.connection`) and checks the server version and JetStream. */
export async function openNatsSession(options: ResolvedNatsEventLogOptions): Promise<NatsSession> {
  const where = options.servers.join(', ');
  let nc: NatsConnection;
  const owned = options.connection === undefined;
  if (options.connection !== undefined) {
    nc = options.connection;
  } else {
    try {
      nc = await connect({
        servers: [...options.servers],
        name: options.connectionName,
        timeout: options.timeoutMs,
        user: options.user,
        pass: options.pass,
        token: options.token,
        // Once connected, keep reconnecting for ever: health() reports the outage meanwhile.
        maxReconnectAttempts: -1,
      });
    } catch (err) {
      throw new HomeostatError(
        ErrorCode.BACKEND,
        `cannot connect to NATS at ${where}: ${reason(err)}; start nats-server with JetStream there (nats-server -js) or fix log.nats.servers`,
        { cause: err, details: { servers: options.servers } },
      );
    }
  }
  try {
    const version = nc.info?.version ?? '0.0.0';
    if (compareVersions(version, MIN_SERVER_VERSION) < 0) {
      throw new HomeostatError(
        ErrorCode.CONFIG_INVALID,
        `NATS at ${where} runs nats-server ${version}; the NATS event log needs ${MIN_SERVER_VERSION} or later: upgrade nats-server`,
        { retryable: false },
      );
    }
    let jsm: JetStreamManager;
    try {
      if (nc.info?.jetstream !== true) throw new Error('the server does not offer JetStream');
      jsm = await jetstreamManager(nc, { timeout: options.timeoutMs });
    } catch (err) {
      const notEnabled =
        nc.info?.jetstream !== true ||
        (err instanceof Error && /not enabled|no responders/i.test(`${err.name} ${err.message}`));
      if (!notEnabled) throw err;
      throw new HomeostatError(
        ErrorCode.CONFIG_INVALID,
        `JetStream is not enabled on ${where} (${reason(err)}): start nats-server with -js (or add \`jetstream {}\` to its config file), or enable JetStream for this account`,
        { cause: err, retryable: false },
      );
    }
    return { nc, owned, jsm, js: jetstream(nc, { timeout: options.timeoutMs }), where };
  } catch (err) {
    if (owned) await nc.close().catch(() => undefined);
    throw err instanceof HomeostatError
      ? err
      : new HomeostatError(ErrorCode.BACKEND, `NATS at ${where}: ${reason(err)}`, { cause: err });
  }
}

/** -1, 0 or 1 as `a` is older, equal or newer than `b` (numeric `major.minor.patch`, suffixes ignored). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** A short reason from an error and its cause (e.g. "connection refused (ECONNREFUSED)"). */
export function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${err.message} (${code})` : err.message;
}
