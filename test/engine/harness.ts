/**
 * @module Engine test harness: a real log and state (SQLite files; NATS JetStream and PostgreSQL in
 * the cluster pass, test/cluster/backends.ts), the real actions, a local HTTP sink.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createTargetRegistry } from '../../src/actions/registry.js';
import { validateAction } from '../../src/actions/registry.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { parseRuleManifest } from '../../src/core/rules/manifest.js';
import type { RuleSpec } from '../../src/core/rules/types.js';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine/engine.js';
import type { ConditionStore } from '../../src/ports/condition-store.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { openTestBackends, removeTestBackends } from '../cluster/backends.js';

export interface SinkRequest {
  readonly key: string;
  readonly eventId: string;
  readonly attempt: number;
  readonly body: unknown;
  readonly headers: IncomingMessage['headers'];
}

/** A local HTTP endpoint; `respond` decides each answer (default 200). */
export interface Sink {
  readonly url: string;
  readonly requests: SinkRequest[];
  respond: (req: SinkRequest, res: ServerResponse) => void;
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const requests: SinkRequest[] = [];
  const sink = {
    url: '',
    requests,
    respond: (_req: SinkRequest, res: ServerResponse) => void res.writeHead(200).end('ok'),
    close: () => Promise.resolve(),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const r: SinkRequest = {
        key: String(req.headers['idempotency-key']),
        eventId: String(req.headers['homeostat-event-id']),
        attempt: Number(req.headers['homeostat-attempt']),
        body: text ? (JSON.parse(text) as unknown) : undefined,
        headers: req.headers,
      };
      requests.push(r);
      sink.respond(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  server.keepAliveTimeout = 1000;
  return sink;
}

export interface TestEngine {
  readonly engine: Engine;
  readonly log: EventLog;
  readonly dir: string;
  /** The store of the rules' condition states (the same database the engine uses). */
  readonly conditionStore: ConditionStore;
  /** Parses and feeds a Rule manifest. */
  apply(manifest: Record<string, unknown>): RuleSpec;
  publish(events: Partial<CloudEvent>[]): Promise<void>;
  /** Closes everything (the data stays in `dir` for a restart). */
  stop(): Promise<void>;
  /** Removes the data directory (and in the cluster pass the stream and schema). */
  remove(): Promise<void>;
}

let n = 0;
export function testEvent(overrides: Partial<CloudEvent> = {}): CloudEvent {
  n += 1;
  return {
    specversion: '1.0',
    id: `e-${process.pid}-${n}`,
    source: '/engine-test',
    type: 'test.event',
    data: { n },
    ...overrides,
  };
}

export interface StartOptions {
  /** The clock of the log, stores and engine (e.g. a manual clock). Default: the system clock. */
  readonly clock?: Clock;
  readonly conditionOptions?: EngineOptions['conditionOptions'];
  readonly commitIntervalMs?: number;
}

/** Starts an engine on `dir`; `rules` are fed before it starts (as the runtime loads stored rules first). */
export async function startEngine(
  dir = mkdtempSync(join(tmpdir(), 'homeostat-engine-')),
  rules: Record<string, unknown>[] = [],
  options: StartOptions = {},
): Promise<TestEngine> {
  const clock = options.clock ?? systemClock;
  const backends = await openTestBackends(dir, clock);
  const { log } = backends;
  const store = backends.stores.deliveries;
  const publish = async (events: readonly CloudEvent[]) =>
    (await log.append(events)).map((r) => ({ status: r.status }) as const);
  const targets = createTargetRegistry({
    logger: pino({ level: 'silent' }),
    publish,
    exec: { allow: {} },
    clock,
  });
  const conditionStore = backends.stores.conditions;
  const engine = createEngine({
    log,
    store,
    targets,
    clock,
    conditionStore,
    ...(options.conditionOptions === undefined ? {} : { conditionOptions: options.conditionOptions }),
    ...(options.commitIntervalMs === undefined ? {} : { commitIntervalMs: options.commitIntervalMs }),
    onError: (err) => console.error('engine error', err),
  });
  const ctx = { validateAction: validateAction(targets), knownActions: [...targets.keys()] };
  for (const manifest of rules) {
    const spec = parseRuleManifest({ apiVersion: 'homeostat/v1', kind: 'Rule', ...manifest }, ctx);
    engine.setRule(spec.name, spec);
  }
  await engine.start();
  return {
    engine,
    log,
    dir,
    conditionStore,
    apply(manifest) {
      const spec = parseRuleManifest({ apiVersion: 'homeostat/v1', kind: 'Rule', ...manifest }, ctx);
      engine.setRule(spec.name, spec);
      return spec;
    },
    async publish(events) {
      await log.append(events.map((e) => testEvent(e)));
    },
    async stop() {
      await engine.close();
      await targets.close();
      await backends.close();
    },
    remove: () => removeTestBackends(dir),
  };
}

/** Polls `check` until it returns true (tests wait for behaviour, not for a fixed time). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
