/**
 * @module Drives the delivery crash scenario: rules with http targets pointing at the flaky sink,
 * paced batch ingest that rides through restarts, SIGKILLs at delivery-progress thresholds, then a
 * wait until the engine is idle and a read of the whole dead-letter queue.
 */
import { idempotencyKey } from '../../src/core/delivery/idempotency.js';
import { type CrashEvent, eventKey, postBatch } from './ingest-client.js';
import { killHard, type ServerProcess, startServer } from './server-process.js';
import type { DeliveryIdentity, Sink } from './sink.js';

/** The rules the scenario applies: every event to two targets, a third of them to a third target. */
export function ruleManifests(sinkUrl: string): Record<string, unknown>[] {
  const retry = (maxAttempts: number) => ({ maxAttempts, backoff: { initial: '5ms', max: '100ms' } });
  const target = (name: string, path: string, maxAttempts: number) => ({
    name,
    action: 'http',
    with: { url: `${sinkUrl}/${path}` },
    retry: retry(maxAttempts),
    timeout: '500ms',
    concurrency: 32,
    circuitBreaker: { failures: 10, cooldown: '100ms' },
  });
  const rule = (name: string, match: unknown, targets: unknown[]) => ({
    apiVersion: 'homeostat/v1',
    kind: 'Rule',
    metadata: { name },
    spec: { match, targets },
  });
  return [
    rule('all-ticks', { type: ['test.crash.tick'] }, [
      target('durable', 'durable', 40),
      target('fragile', 'fragile', 3),
    ]),
    rule('client-zero', { source: ['/crash/client-0'] }, [target('durable', 'zero', 40)]),
  ];
}

/** The deliveries the rules above owe for `events`, by idempotency key. */
export function expectedDeliveries(events: readonly CrashEvent[]): Map<string, DeliveryIdentity> {
  const out = new Map<string, DeliveryIdentity>();
  const add = (e: CrashEvent, rule: string, target: string) =>
    out.set(idempotencyKey(e.source, e.id, rule, target), { source: e.source, id: e.id, rule, target });
  for (const e of events) {
    add(e, 'all-ticks', 'durable');
    add(e, 'all-ticks', 'fragile');
    if (e.source === '/crash/client-0') add(e, 'client-zero', 'durable');
  }
  return out;
}

async function api(method: string, url: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  return text === '' ? undefined : JSON.parse(text);
}

export async function applyRules(url: string, manifests: readonly Record<string, unknown>[]): Promise<void> {
  for (const m of manifests) {
    const name = (m.metadata as { name: string }).name;
    await api('PUT', `${url}/v1/rules/${name}`, m);
  }
}

export interface DeadLetterWire {
  readonly id: number;
  readonly key: DeliveryIdentity;
  readonly attempts: number;
  readonly reason: string;
  readonly error: { readonly code: string; readonly message: string };
}

/** Every dead letter, paging through GET /v1/dlq. */
export async function readDeadLetters(url: string): Promise<DeadLetterWire[]> {
  const out: DeadLetterWire[] = [];
  let after = 0;
  for (;;) {
    const page = (await api('GET', `${url}/v1/dlq?limit=1000&after=${after}`)) as {
      entries: DeadLetterWire[];
      next: number | null;
    };
    out.push(...page.entries);
    if (page.next === null) return out;
    after = page.next;
  }
}

export async function deadLetterCount(url: string): Promise<number> {
  return ((await api('GET', `${url}/v1/dlq/count`)) as { count: number }).count;
}

export interface TraceWire {
  readonly entries: readonly {
    kind: string;
    rule?: string;
    target?: string;
    attempt?: number;
    detail?: { error?: { code: string } };
  }[];
}

export function readTrace(url: string, source: string, id: string): Promise<TraceWire> {
  return api(
    'GET',
    `${url}/v1/events/${encodeURIComponent(id)}/trace?source=${encodeURIComponent(source)}`,
  ) as Promise<TraceWire>;
}

/** One kill: when it came and what had happened by then. */
export interface KillRecord {
  readonly generation: number;
  readonly atMs: number;
  readonly eventsAcked: number;
  readonly executions: number;
  readonly restartMs: number;
}

/** The engine process across restarts; the ingest waits on `current()` while one is under way. */
export interface EngineProcess {
  current(): Promise<ServerProcess>;
  /** SIGKILLs the process, waits for its death, starts a new one on the same dir; resolves with the ms taken. */
  killAndRestart(): Promise<number>;
  readonly last: ServerProcess;
}

export async function startEngine(dataDir: string, sink: Sink): Promise<EngineProcess> {
  sink.nextGeneration();
  let last = await startServer(dataDir);
  let restarting: Promise<ServerProcess> | undefined;
  const restart = async (victim: ServerProcess): Promise<ServerProcess> => {
    const exit = await killHard(victim);
    if (exit.signal !== 'SIGKILL') throw new Error(`the engine exited by itself: ${JSON.stringify(exit)}`);
    sink.nextGeneration();
    return startServer(dataDir);
  };
  return {
    current: () => restarting ?? Promise.resolve(last),
    get last() {
      return last;
    },
    async killAndRestart() {
      const began = performance.now();
      restarting = restart(last);
      try {
        last = await restarting;
      } finally {
        restarting = undefined;
      }
      return performance.now() - began;
    },
  };
}

export interface IngestOptions {
  readonly events: readonly CrashEvent[];
  readonly batchSize: number;
  readonly workers: number;
  /** Events per second the workers aim for (open-loop schedule). */
  readonly rate: number;
}

export interface IngestState {
  acked: number;
  /** Posts that failed because the engine died under them (each was sent again). */
  resent: number;
  readonly problems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Posts one batch until every entry is acknowledged, following the engine across restarts. */
async function postUntilAcked(engine: EngineProcess, batch: readonly CrashEvent[], state: IngestState): Promise<void> {
  for (let tries = 0; ; tries++) {
    const server = await engine.current();
    const outcome = await postBatch(server.url, batch);
    if (outcome.kind === 'failed') {
      // The engine was killed under this request: what it had written is deduplicated on re-send.
      state.resent++;
      if (tries > 200) throw new Error(`batch ${batch[0]?.id} could not be posted: ${outcome.error}`);
      await sleep(20);
      continue;
    }
    if (outcome.kind === 'http-error') {
      state.problems.push(`HTTP ${outcome.status}: ${outcome.body.slice(0, 300)}`);
      return;
    }
    for (const [i, ev] of batch.entries()) {
      const r = outcome.results[i];
      if (r?.status !== 'accepted' && r?.status !== 'duplicate') {
        state.problems.push(`${eventKey(ev)}: ${JSON.stringify(r)}`);
      }
    }
    state.acked += batch.length;
    return;
  }
}

/** Sends every event in batches on an open-loop schedule, riding through restarts. */
export async function ingestAll(engine: EngineProcess, o: IngestOptions, state: IngestState): Promise<void> {
  const began = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.events.length) {
      const start = next;
      next += o.batchSize;
      const due = began + (start / o.rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      await postUntilAcked(engine, o.events.slice(start, start + o.batchSize), state);
    }
  };
  await Promise.all(Array.from({ length: o.workers }, worker));
}

/** Resolves once `done()` holds (polled every 25 ms); rejects after `timeoutMs` with `what`. */
export async function waitFor(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(25);
  }
}

/**
 * Waits until the engine is idle: every expected delivery executed at the sink or dead-lettered,
 * the dead-letter count unchanged and no request at the sink for `quietMs`. Resolves with the
 * final dead-letter count, or rejects after `timeoutMs` saying how far it got.
 */
export async function waitIdle(
  engine: EngineProcess,
  sink: Sink,
  expected: number,
  quietMs: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let dead = -1;
  let stableSince = performance.now();
  for (;;) {
    const count = await deadLetterCount((await engine.current()).url);
    const now = performance.now();
    if (count !== dead) {
      dead = count;
      stableSince = now;
    }
    const quiet = now - Math.max(sink.stats.lastRequestAt, stableSince);
    if (sink.executions.size + dead >= expected && quiet >= quietMs) return dead;
    if (now > deadline) {
      throw new Error(
        `the engine did not finish within ${timeoutMs} ms: ${sink.executions.size} executed + ${dead} dead of ${expected} expected`,
      );
    }
    await sleep(100);
  }
}
