/** @module Load drivers: closed loop (as fast as the target answers) and open loop (on a schedule). */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type CpuMeter, type CpuShare, startCpuMeter } from './cpu.js';
import type { EventPool } from './events.js';
import { createLatencyRecorder, type LatencySummary } from './latency.js';

/** What every target of the benchmark (Homeostat and each peer) is driven with. */
export interface LoadOptions {
  readonly connections: number;
  readonly batchConnections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly singlePool: EventPool;
  readonly batchPool: EventPool;
  readonly log: (line: string) => void;
}

/** What one request (one event, one batch, one pipeline) came back with. */
export type OpOutcome =
  | { readonly ok: true; readonly events: number }
  | { readonly ok: false; readonly failure: string; readonly events?: number; readonly detail?: string };

/** Starts one request; `undefined` when the pre-generated events are used up. */
export type Op = (index: number) => Promise<OpOutcome> | undefined;

export interface ScenarioResult {
  /** Events acknowledged by requests that completed inside the measured window. */
  readonly events: number;
  readonly requests: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
  /** Per request, successful requests only; in open loop measured from the scheduled send time. */
  readonly latency: LatencySummary;
  /** Failed requests by kind (`429`, `status 500`, `accepted 0/1`, `error: ...`), warm-up included. */
  readonly failures: Readonly<Record<string, number>>;
  /** The first detail (e.g. a response body) seen for each failure kind. */
  readonly failureSamples: Readonly<Record<string, string>>;
  /** Events acknowledged during the whole run, warm-up included. */
  readonly acknowledged: number;
  /** CPU use over the measured window. */
  readonly cpu: CpuShare | undefined;
  /** This client's event-loop delay over the window, ms: latency the load generator itself may have added. */
  readonly clientLag: { readonly p99: number; readonly max: number };
  readonly notes: readonly string[];
}

interface DriverOptions {
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly op: Op;
  /** CPU seconds used so far by the server under test, for the CPU split (NaN when unknown). */
  readonly serverCpuSeconds?: () => number;
}

export interface ClosedLoopOptions extends DriverOptions {
  /** Concurrent workers; `op` is called with the worker number, one request outstanding per worker. */
  readonly workers: number;
}

/** A pause after a failed request, so a worker facing 429s or a dead server does not spin. */
const FAILURE_PAUSE_MS = 10;

/** Each worker sends its next request when the previous one is answered. */
export async function runClosedLoop(opts: ClosedLoopOptions): Promise<ScenarioResult> {
  const tally = createTally(opts);
  const start = performance.now();
  const measureFrom = start + opts.warmupMs;
  const until = measureFrom + opts.durationMs;
  let exhaustedAt: number | undefined;
  const worker = async (w: number): Promise<void> => {
    while (exhaustedAt === undefined) {
      const sentAt = performance.now();
      if (sentAt >= until) return;
      const pending = opts.op(w);
      if (pending === undefined) {
        exhaustedAt = sentAt;
        return;
      }
      const outcome = await settle(pending);
      const doneAt = performance.now();
      tally.add(outcome, doneAt >= measureFrom && doneAt <= until, doneAt - sentAt, doneAt);
      if (!outcome.ok) await sleep(FAILURE_PAUSE_MS);
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w)));
  return tally.result(
    measureFrom,
    exhaustedAt === undefined ? until : Math.min(until, tally.lastDoneAt()),
    exhaustedAt,
  );
}

export interface OpenLoopOptions extends DriverOptions {
  /** Requests per second; `op` is called with the request's sequence number. */
  readonly rate: number;
  /** Client-side cap on outstanding requests; past it sends wait (their latency still counts from schedule). */
  readonly maxInFlight: number;
}

/**
 * Request i is due at start + i / rate whatever happened to earlier ones, and its latency is taken
 * from that due time, so a slow answer is not hidden by sending less (no coordinated omission).
 */
export function runOpenLoop(opts: OpenLoopOptions): Promise<ScenarioResult> {
  const tally = createTally(opts);
  const interval = 1000 / opts.rate;
  const start = performance.now();
  const measureFrom = start + opts.warmupMs;
  const until = measureFrom + opts.durationMs;
  let sent = 0;
  let inFlight = 0;
  let exhaustedAt: number | undefined;
  let sending = true;
  return new Promise((resolve) => {
    const finishIfDone = () => {
      if (!sending && inFlight === 0) resolve(tally.result(measureFrom, until, exhaustedAt));
    };
    const send = (dueAt: number): boolean => {
      const pending = opts.op(sent);
      if (pending === undefined) return false;
      sent++;
      inFlight++;
      void settle(pending).then((outcome) => {
        const doneAt = performance.now();
        inFlight--;
        tally.add(outcome, dueAt >= measureFrom, doneAt - dueAt, doneAt);
        finishIfDone();
      });
      return true;
    };
    const tick = () => {
      const now = performance.now();
      for (let dueAt = start + sent * interval; dueAt <= now && dueAt < until; dueAt = start + sent * interval) {
        if (inFlight >= opts.maxInFlight) break;
        if (!send(dueAt)) {
          exhaustedAt = now;
          break;
        }
      }
      const nextDue = start + sent * interval;
      if (exhaustedAt === undefined && nextDue < until) {
        setTimeout(tick, Math.max(0, nextDue - performance.now()));
      } else {
        sending = false;
        finishIfDone();
      }
    };
    tick();
  });
}

interface Tally {
  add(outcome: OpOutcome, measured: boolean, latencyMs: number, doneAt: number): void;
  lastDoneAt(): number;
  result(from: number, to: number, exhaustedAt: number | undefined): ScenarioResult;
}

function createTally(opts: DriverOptions): Tally {
  const latency = createLatencyRecorder();
  const failures: Record<string, number> = {};
  const failureSamples: Record<string, string> = {};
  let meter: CpuMeter | undefined;
  const lag = monitorEventLoopDelay({ resolution: 1 });
  const meterTimer = setTimeout(() => {
    meter = startCpuMeter(opts.serverCpuSeconds ?? (() => Number.NaN));
    lag.enable();
  }, opts.warmupMs);
  let events = 0;
  let requests = 0;
  let acknowledged = 0;
  let lastDone = 0;
  return {
    add(outcome, measured, latencyMs, doneAt) {
      acknowledged += outcome.ok ? outcome.events : (outcome.events ?? 0);
      if (!outcome.ok) {
        failures[outcome.failure] = (failures[outcome.failure] ?? 0) + 1;
        if (outcome.detail !== undefined) failureSamples[outcome.failure] ??= outcome.detail;
      }
      if (!measured) return;
      requests++;
      if (!outcome.ok) return;
      events += outcome.events;
      latency.record(latencyMs);
      lastDone = Math.max(lastDone, doneAt);
    },
    lastDoneAt: () => lastDone,
    result(from, to, exhaustedAt) {
      clearTimeout(meterTimer);
      const cpu = meter?.stop();
      lag.disable();
      const clientLag = { p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 };
      const seconds = Math.max(0, to - from) / 1000;
      const notes: string[] = [];
      if (exhaustedAt !== undefined) {
        const at = ((exhaustedAt - from) / 1000).toFixed(1);
        notes.push(`pre-generated events ran out ${at} s into the measured window; raise BENCH_MAX_*_RATE`);
      }
      const eventsPerSec = seconds > 0 ? events / seconds : 0;
      const summary = latency.summary();
      return {
        events,
        requests,
        seconds,
        eventsPerSec,
        latency: summary,
        failures,
        failureSamples,
        acknowledged,
        cpu,
        clientLag,
        notes,
      };
    },
  };
}

async function settle(pending: Promise<OpOutcome>): Promise<OpOutcome> {
  try {
    return await pending;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { ok: false, failure: `error: ${e.code ?? e.message ?? String(error)}` };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
