/**
 * @module kill -9 during delivery: 10,000 events through http targets to a sink that fails 30 % of
 * calls and stalls some; the engine is SIGKILLed four times and restarted on the same data dir.
 * In the end every (event, rule, target) was executed exactly once at the sink (first 2xx per
 * idempotency key; the sink deduplicates repeats like a real receiver) or is in the dead-letter
 * queue with its reason and last error; never both, nothing missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../src/core/delivery/idempotency.js';
import {
  applyRules,
  type DeadLetterWire,
  type EngineProcess,
  expectedDeliveries,
  type IngestState,
  ingestAll,
  type KillRecord,
  readDeadLetters,
  readTrace,
  ruleManifests,
  startEngine,
  type TraceWire,
  waitFor,
  waitIdle,
} from './delivery-run.js';
import { makeWorkload } from './ingest-client.js';
import { assertBuilt, killLeftovers, stopGracefully } from './server-process.js';
import { type Duplicate, type Sink, startSink } from './sink.js';

const EVENTS = 10_000;
/** Kill when the sink has executed these shares of the expected deliveries. */
const KILL_AT = [0.12, 0.35, 0.6, 0.85];
const INGEST = { batchSize: 50, workers: 2, rate: 1_500 };
const SINK = { failRate: 0.3, stallRate: 0.02, stallMs: 2_000 };
/** Longer than the largest backoff (100 ms) plus a stalled attempt's timeout (500 ms). */
const QUIET_MS = 2_500;
const SCENARIO_TIMEOUT_MS = 170_000;

const root = mkdtempSync(join(tmpdir(), 'homeostat-delivery-kill9-'));
const events = makeWorkload(`dk${Date.now().toString(36)}`, EVENTS);
const expected = expectedDeliveries(events);

interface Outcome {
  readonly sink: Sink;
  readonly ingest: IngestState;
  readonly kills: readonly KillRecord[];
  readonly letters: readonly DeadLetterWire[];
  /** Traces of the keys repeated at the sink by the same engine process. */
  readonly sameGenerationTraces: ReadonlyMap<string, TraceWire>;
  readonly finalExit: { code: number | null; signal: NodeJS.Signals | null };
  readonly ms: number;
}

let outcome: Outcome | undefined;
let sink: Sink | undefined;

function some<T>(items: Iterable<T>): T[] {
  return [...items].slice(0, 5);
}

async function killAtThresholds(
  engine: EngineProcess,
  s: Sink,
  ingest: IngestState,
  began: number,
): Promise<KillRecord[]> {
  const kills: KillRecord[] = [];
  for (const share of KILL_AT) {
    const want = Math.floor(share * expected.size);
    await waitFor(
      () => s.executions.size >= want,
      60_000,
      () => `${want} executions before kill ${kills.length + 1} (have ${s.executions.size})`,
    );
    const atMs = performance.now() - began;
    const record = { atMs, eventsAcked: ingest.acked, executions: s.executions.size };
    const restartMs = await engine.killAndRestart();
    kills.push({ ...record, generation: kills.length + 1, restartMs });
  }
  return kills;
}

async function tracesOf(url: string, dups: readonly Duplicate[]): Promise<Map<string, TraceWire>> {
  const traces = new Map<string, TraceWire>();
  for (const d of dups) traces.set(d.key, await readTrace(url, d.delivery.source, d.delivery.id));
  return traces;
}

async function runScenario(s: Sink): Promise<Outcome> {
  const began = performance.now();
  const engine = await startEngine(join(root, 'data'), s);
  await applyRules(engine.last.url, ruleManifests(s.url));
  const ingest: IngestState = { acked: 0, resent: 0, problems: [] };
  const sending = ingestAll(engine, { events, ...INGEST }, ingest);
  sending.catch(() => undefined);
  const kills = await killAtThresholds(engine, s, ingest, began);
  await sending;
  await waitIdle(engine, s, expected.size, QUIET_MS, 60_000);
  const url = engine.last.url;
  const letters = await readDeadLetters(url);
  const sameGeneration = s.duplicates.filter((d) => d.generation <= d.firstGeneration);
  const sameGenerationTraces = await tracesOf(url, sameGeneration);
  const finalExit = await stopGracefully(engine.last);
  return { sink: s, ingest, kills, letters, sameGenerationTraces, finalExit, ms: performance.now() - began };
}

function countBy(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

function report(o: Outcome): void {
  const { stats, duplicates, executions, seen } = o.sink;
  const afterCrash = duplicates.filter((d) => d.generation > d.firstGeneration).length;
  const kills = o.kills
    .map(
      (k) =>
        `#${k.generation} at ${(k.atMs / 1000).toFixed(1)} s (${k.eventsAcked} events acked, ` +
        `${k.executions} executed, back in ${Math.round(k.restartMs)} ms)`,
    )
    .join('; ');
  console.log(
    `[delivery-kill9] ${EVENTS} events, ${expected.size} deliveries expected, run took ${(o.ms / 1000).toFixed(1)} s\n` +
      `  kills: ${o.kills.length}: ${kills}\n` +
      `  sink: ${stats.requests} requests for ${seen.size} keys; ${executions.size} executed; ` +
      `${stats.retries} retries (attempt > 1); ${stats.failures} injected 500s; ${stats.stalls} stalls ` +
      `(${stats.stallsAbandoned} abandoned by the sender); ${stats.abandoned} other requests abandoned\n` +
      `  duplicates at the sink: ${duplicates.length} (${afterCrash} re-sent after a crash, ` +
      `${duplicates.length - afterCrash} by the same process)\n` +
      `  dead letters: ${o.letters.length} (last error: ${JSON.stringify(countBy(o.letters.map((l) => l.error.code)))}); ingest posts repeated after a kill: ${o.ingest.resent}`,
  );
}

beforeAll(async () => {
  assertBuilt();
  sink = await startSink(SINK);
  outcome = await runScenario(sink);
  report(outcome);
}, SCENARIO_TIMEOUT_MS);

afterAll(async () => {
  await killLeftovers();
  await sink?.close();
  rmSync(root, { recursive: true, force: true });
});

function result(): Outcome {
  if (!outcome) throw new Error('the scenario did not run (see beforeAll)');
  return outcome;
}

describe('homeostat killed with SIGKILL while delivering to a flaky http receiver', () => {
  it('acknowledges every event and sends only well-formed deliveries with stable idempotency keys', () => {
    const o = result();
    expect(some(o.ingest.problems), 'ingest problems').toEqual([]);
    expect(o.ingest.acked).toBe(EVENTS);
    expect(some(o.sink.problems), 'requests that break the http action contract').toEqual([]);
  });

  it('was killed at least three times while deliveries were still under way', () => {
    const o = result();
    expect(o.kills.length).toBeGreaterThanOrEqual(3);
    for (const k of o.kills) expect(k.executions).toBeLessThan(expected.size);
    expect(o.finalExit, 'the last process stops cleanly').toEqual({ code: 0, signal: null });
  });

  it('executes or dead-letters every (event, rule, target): none missing, none both, none extra', () => {
    const o = result();
    const dead = new Map(o.letters.map((l) => [idempotencyKey(l.key.source, l.key.id, l.key.rule, l.key.target), l]));
    const executed = o.sink.executions;
    expect(dead.size, 'one dead letter per key').toBe(o.letters.length);
    const missing = [...expected.keys()].filter((k) => !executed.has(k) && !dead.has(k));
    expect(some(missing.map((k) => expected.get(k))), `missing deliveries (${missing.length})`).toEqual([]);
    const both = [...dead.keys()].filter((k) => executed.has(k));
    expect(some(both.map((k) => dead.get(k)?.key)), `executed and dead-lettered (${both.length})`).toEqual([]);
    const extra = [...executed.keys(), ...dead.keys()].filter((k) => !expected.has(k));
    expect(some(extra), 'deliveries no rule asked for').toEqual([]);
    expect(executed.size + dead.size).toBe(expected.size);
  });

  it('dead-letters only the target with three attempts, with its reason and last error', () => {
    const o = result();
    expect(o.letters.length, 'some deliveries really ran out of attempts').toBeGreaterThan(0);
    const wrong = o.letters.filter(
      (l) =>
        l.key.target !== 'fragile' ||
        l.reason !== 'max-attempts' ||
        l.attempts !== 3 ||
        !/^E_[A-Z_]+$/.test(l.error.code) ||
        !l.error.message,
    );
    expect(some(wrong)).toEqual([]);
    const seen = o.sink.seen;
    const invented = o.letters.filter(
      (l) => (seen.get(idempotencyKey(l.key.source, l.key.id, l.key.rule, l.key.target)) ?? 0) < l.attempts,
    );
    expect(some(invented), 'every attempt a dead letter counts reached the sink').toEqual([]);
  });

  it('records the last error the sink caused: a 500 as E_HTTP_STATUS, a stall as E_TIMEOUT', () => {
    const o = result();
    const codes = o.letters.map((l) => l.error.code);
    expect(codes).toContain('E_HTTP_STATUS');
    expect(some(o.letters.filter((l) => !['E_HTTP_STATUS', 'E_TIMEOUT'].includes(l.error.code)))).toEqual([]);
  });

  it('repeats a succeeded delivery only after a crash, or after an attempt it recorded as failed', () => {
    const o = result();
    const unexplained = o.sink.duplicates.filter((d) => {
      if (d.generation > d.firstGeneration) return false;
      const entries = o.sameGenerationTraces.get(d.key)?.entries ?? [];
      return !entries.some(
        (e) =>
          e.kind === 'attempt' &&
          e.rule === d.delivery.rule &&
          e.target === d.delivery.target &&
          e.attempt === d.firstAttempt &&
          e.detail?.error !== undefined,
      );
    });
    expect(some(unexplained)).toEqual([]);
  });
});
