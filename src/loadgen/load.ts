/**
 * @module A load generator for scenarios and `homeostat demo load`: GET a path at a rate that may
 * follow a schedule (requests per second as a function of time), open loop (a
 * request is sent when it is due, whether or not earlier ones have answered), over keep-alive
 * connections, recording for each request when it was sent, when it ended, how, and which
 * instance answered (or, for a balancer error, which target it had picked).
 */
import { Pool } from 'undici';

/** `ok` is a 2xx answer; anything else is a failure seen by the client. */
export type Outcome = 'ok' | `HTTP ${number}` | 'timeout' | 'connection error';

export interface RequestRecord {
  /** Epoch ms (Date.now) when the request was handed to the connection pool. */
  readonly sentAt: number;
  readonly endedAt: number;
  readonly outcome: Outcome;
  /** The instance that answered, or the target a balancer error names; undefined if unknown. */
  readonly instance: string | undefined;
  /** For failures: the balancer's error message or the client error. */
  readonly detail?: string;
}

export interface LoadOptions {
  readonly address: string;
  /** Requests per second: a constant, or a function of the ms elapsed since the start. */
  readonly rate: number | ((elapsedMs: number) => number);
  readonly timeoutMs: number;
  /** Default '/'. */
  readonly path?: string;
}

export interface Load {
  readonly records: readonly RequestRecord[];
  /** Requests sent and not ended yet. */
  inFlight(): number;
  /** Stops sending, waits for the requests in flight (at most the client timeout), closes the pool. */
  stop(): Promise<void>;
}

const CONNECTIONS = 256;

/** Starts sending at once. */
export function startLoad(o: LoadOptions): Load {
  const pool = new Pool(`http://${o.address}`, {
    connections: CONNECTIONS,
    pipelining: 1,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    keepAliveTimeout: 30_000,
  });
  const records: RequestRecord[] = [];
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  let sent = 0;
  let stopped: Promise<void> | undefined;
  const rate = typeof o.rate === 'number' ? () => o.rate as number : o.rate;
  // Requests due so far: the integral of the rate, summed per millisecond tick.
  let due = 0;
  let last = 0;
  const path = o.path ?? '/';
  const tick = (): void => {
    const now = performance.now() - start;
    due += ((now - last) * Math.max(0, rate(now))) / 1000;
    last = now;
    while (sent < Math.floor(due)) {
      sent++;
      const p = one(pool, o.timeoutMs, path).then((r) => void records.push(r));
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
  };
  const timer = setInterval(tick, 1);
  return {
    records,
    inFlight: () => pending.size,
    stop() {
      clearInterval(timer);
      stopped ??= Promise.all([...pending]).then(() => pool.close());
      return stopped;
    },
  };
}

async function one(pool: Pool, timeoutMs: number, path: string): Promise<RequestRecord> {
  const sentAt = Date.now();
  try {
    const res = await pool.request({ method: 'GET', path, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.body.text();
    const endedAt = Date.now();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      return { sentAt, endedAt, outcome: 'ok', instance: parse(text)?.instance as string | undefined };
    }
    const body = parse(text);
    const details = body?.details as { target?: string } | undefined;
    return {
      sentAt,
      endedAt,
      outcome: `HTTP ${res.statusCode}`,
      instance: details?.target,
      detail: typeof body?.message === 'string' ? body.message : text.slice(0, 200),
    };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const code = typeof e.code === 'string' ? e.code : e.name;
    const timedOut = e.name === 'TimeoutError' || /TIMEOUT/.test(code);
    return {
      sentAt,
      endedAt: Date.now(),
      outcome: timedOut ? 'timeout' : 'connection error',
      instance: undefined,
      detail: `${code}: ${e.message}`,
    };
  }
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
