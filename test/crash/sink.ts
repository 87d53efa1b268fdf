/**
 * @module A flaky webhook receiver for the delivery crash test: fails some calls, stalls others,
 * and deduplicates by `Idempotency-Key` the way a careful real receiver does.
 *
 * Every request is answered by one of:
 * - a repeat of a key it already executed: 200, not executed again (counted as a duplicate);
 * - a stall (probability `stallRate`): held `stallMs`, so the sender's timeout fires first; it is
 *   never executed, and answered 503 only if the sender is still waiting;
 * - a failure (probability `failRate`): 500 at once;
 * - otherwise: executed (recorded with the sender's generation) and answered 200, unless the
 *   sender already closed the connection (then nothing is executed).
 *
 * A generation is one life of the engine process: the test bumps it right before each (re)start,
 * and every connection is stamped with the generation current when it was accepted, so a request
 * is attributed to the process that opened its connection.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { idempotencyKey } from '../../src/core/delivery/idempotency.js';

export interface SinkOptions {
  /** Share of calls answered 500 at once. */
  readonly failRate: number;
  /** Share of calls held `stallMs` (longer than the target's timeout). */
  readonly stallRate: number;
  readonly stallMs: number;
  /** Source of randomness in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** The delivery a request carried, from the headers the http action sets. */
export interface DeliveryIdentity {
  readonly source: string;
  readonly id: string;
  readonly rule: string;
  readonly target: string;
}

export interface Execution {
  readonly delivery: DeliveryIdentity;
  readonly generation: number;
  readonly attempt: number;
  readonly at: number;
}

export interface Duplicate {
  readonly key: string;
  readonly delivery: DeliveryIdentity;
  /** Generation that got the first 2xx, and the one that sent the repeat. */
  readonly firstGeneration: number;
  readonly generation: number;
  /** `Homeostat-Attempt` of the executed request, and of the repeat. */
  readonly firstAttempt: number;
  readonly attempt: number;
}

export interface SinkStats {
  requests: number;
  failures: number;
  stalls: number;
  /** Stalled requests whose sender gave up (closed the connection) before the stall ended. */
  stallsAbandoned: number;
  /** Requests whose sender had closed the connection before the sink answered (not executed). */
  abandoned: number;
  /** Requests that carried `Homeostat-Attempt` > 1. */
  retries: number;
  /** `performance.now()` of the last request. */
  lastRequestAt: number;
}

export interface Sink {
  readonly url: string;
  /** Executions by idempotency key: the first (and only counted) 2xx per key. */
  readonly executions: ReadonlyMap<string, Execution>;
  /** Requests seen per idempotency key, whatever the answer. */
  readonly seen: ReadonlyMap<string, number>;
  readonly duplicates: readonly Duplicate[];
  /** Requests that broke the http action's contract (bad key, missing header, body not the event). */
  readonly problems: readonly string[];
  readonly stats: Readonly<SinkStats>;
  /** Call right before starting an engine process: its connections get the new generation. */
  nextGeneration(): number;
  close(): Promise<void>;
}

const header = (req: IncomingMessage, name: string): string => {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

function identityOf(req: IncomingMessage): DeliveryIdentity {
  return {
    source: header(req, 'homeostat-event-source'),
    id: header(req, 'homeostat-event-id'),
    rule: header(req, 'homeostat-rule'),
    target: header(req, 'homeostat-target'),
  };
}

/** Checks the request against the http action's contract; returns what is wrong, if anything. */
function contractProblem(key: string, who: DeliveryIdentity, body: string): string | undefined {
  if (!key || !who.source || !who.id || !who.rule || !who.target) {
    return `missing delivery headers: ${JSON.stringify({ key, ...who })}`;
  }
  if (key !== idempotencyKey(who.source, who.id, who.rule, who.target)) {
    return `Idempotency-Key ${key} is not the key of ${JSON.stringify(who)}`;
  }
  try {
    const event = JSON.parse(body) as { id?: unknown; source?: unknown };
    if (event.id !== who.id || event.source !== who.source) return `body is not event ${who.id}: ${body.slice(0, 200)}`;
  } catch {
    return `body is not JSON: ${body.slice(0, 200)}`;
  }
  return undefined;
}

/** Starts the sink on 127.0.0.1 (a free port). */
export async function startSink(options: SinkOptions): Promise<Sink> {
  const random = options.random ?? Math.random;
  const executions = new Map<string, Execution>();
  const seen = new Map<string, number>();
  const duplicates: Duplicate[] = [];
  const problems: string[] = [];
  const stats: SinkStats = {
    requests: 0,
    failures: 0,
    stalls: 0,
    stallsAbandoned: 0,
    abandoned: 0,
    retries: 0,
    lastRequestAt: 0,
  };
  const socketGeneration = new WeakMap<Socket, number>();
  const stalled = new Set<NodeJS.Timeout>();
  let generation = 0;

  const stall = (res: ServerResponse): void => {
    stats.stalls++;
    let abandoned = false;
    res.once('close', () => {
      if (!res.writableFinished) abandoned = true;
    });
    const timer = setTimeout(() => {
      stalled.delete(timer);
      if (abandoned) stats.stallsAbandoned++;
      else res.writeHead(503).end('stalled');
    }, options.stallMs);
    stalled.add(timer);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    stats.requests++;
    stats.lastRequestAt = performance.now();
    const key = header(req, 'idempotency-key');
    const who = identityOf(req);
    const attempt = Number(header(req, 'homeostat-attempt'));
    const problem = contractProblem(key, who, body);
    if (problem !== undefined) {
      problems.push(problem);
      res.writeHead(400).end(problem);
      return;
    }
    if (attempt > 1) stats.retries++;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const gen = socketGeneration.get(req.socket) ?? generation;
    const first = executions.get(key);
    if (first) {
      duplicates.push({
        key,
        delivery: who,
        firstGeneration: first.generation,
        generation: gen,
        firstAttempt: first.attempt,
        attempt,
      });
      res.writeHead(200).end('already done');
      return;
    }
    const draw = random();
    if (draw < options.stallRate) return stall(res);
    if (draw < options.stallRate + options.failRate) {
      stats.failures++;
      res.writeHead(500).end('injected failure');
      return;
    }
    if (req.socket.destroyed) {
      // The sender gave up (its timeout) or died before the sink got to this request: not executed.
      stats.abandoned++;
      return;
    }
    executions.set(key, { delivery: who, generation: gen, attempt, at: performance.now() });
    res.writeHead(200).end('ok');
  };

  const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => undefined);
  });
  server.on('connection', (socket: Socket) => socketGeneration.set(socket, generation));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    executions,
    seen,
    duplicates,
    problems,
    stats,
    nextGeneration: () => ++generation,
    async close() {
      for (const t of stalled) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
