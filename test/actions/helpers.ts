/** Builders for delivery requests in action tests. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { idempotencyKey } from '../../src/core/delivery/idempotency.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { TargetSpec } from '../../src/core/rules/types.js';
import type { LogRecord } from '../../src/ports/event-log.js';
import type { DeliveryRequest } from '../../src/ports/target.js';

export const triggerEvent: CloudEvent = {
  specversion: '1.0',
  id: 'evt-1',
  source: 'app/web',
  type: 'http.response',
  subject: 'web-1',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  data: { status: 503, host: 'web-1', path: '/checkout' },
};

export function targetSpec(
  action: string,
  options: Record<string, unknown>,
  extra: Partial<TargetSpec> = {},
): TargetSpec {
  return Object.freeze({
    id: `${action}-0`,
    action,
    with: Object.freeze(options),
    retry: { maxAttempts: 8, maxAgeMs: 86_400_000, initialDelayMs: 100, maxDelayMs: 60_000 },
    concurrency: 16,
    ordered: false,
    circuitBreaker: { failureThreshold: 10, cooldownMs: 30_000 },
    timeoutMs: 10_000,
    ...extra,
  });
}

export interface RequestOptions {
  readonly event?: CloudEvent;
  readonly rule?: string;
  readonly attempt?: number;
  readonly payload?: unknown;
  readonly replayed?: boolean;
  readonly signal?: AbortSignal;
  readonly partitionKey?: string;
}

export function deliveryRequest(target: TargetSpec, o: RequestOptions = {}): DeliveryRequest {
  const event = o.event ?? triggerEvent;
  const rule = o.rule ?? 'page-on-5xx';
  const record: LogRecord = {
    offset: 42,
    partition: 3,
    partitionKey: o.partitionKey ?? event.partitionkey ?? event.subject ?? event.source,
    appendedAt: Date.UTC(2026, 0, 1),
    event,
  };
  return {
    record,
    rule,
    target,
    attempt: o.attempt ?? 1,
    idempotencyKey: idempotencyKey(event.source, event.id, rule, target.id),
    payload: 'payload' in o ? o.payload : event,
    replayed: o.replayed ?? false,
    signal: o.signal ?? new AbortController().signal,
  };
}

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface TestServer {
  readonly url: string;
  readonly received: Received[];
  /** Connections accepted so far. */
  connections(): number;
  handle(fn: (req: Received, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 and a free port; answers 200 unless told otherwise. */
export async function startServer(): Promise<TestServer> {
  const received: Received[] = [];
  let connections = 0;
  let handler = (_req: Received, res: ServerResponse): void => {
    res.end('ok');
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(r);
      handler(r, res);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    connections: () => connections,
    handle: (fn) => {
      handler = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
