/**
 * @module Backtesting: runs a rule that is not enabled (or not even stored) over a time range of
 * the log and reports what it would have matched and done, executing nothing.
 */
import type { Clock } from '../core/clock.js';
import { compileTransform } from '../core/delivery/transform.js';
import { createMatcher } from '../core/pattern/index.js';
import type { RuleSpec } from '../core/rules/types.js';
import type { EventLog } from '../ports/event-log.js';
import { type LogRange, type RangeProgress, rangeSize, readRange } from './log-range.js';

export interface BacktestOptions {
  readonly log: EventLog;
  readonly clock: Clock;
  readonly rule: RuleSpec;
  readonly range: LogRange;
  /** Matches described in full in the report. Default 20. */
  readonly samples?: number;
  readonly onProgress?: (p: RangeProgress & { readonly matched: number }) => void;
  readonly signal?: AbortSignal;
}

export interface TargetForecast {
  readonly target: string;
  readonly action: string;
  /** What the action would do, e.g. `POST http://...`. */
  readonly would: string;
  /** Deliveries it would have made. */
  readonly deliveries: number;
  /** Matches whose input transform failed (they would have been dead-lettered). */
  readonly transformErrors: number;
  readonly firstTransformError?: string;
}

export interface BacktestSample {
  readonly offset: number;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time?: string;
  readonly appendedAt: string;
  /** Each target's payload after its input transform (or the error). */
  readonly payloads: Readonly<Record<string, unknown>>;
}

export interface BacktestReport {
  readonly rule: string;
  readonly since: string;
  readonly until: string;
  readonly scanned: number;
  readonly matched: number;
  readonly targets: readonly TargetForecast[];
  readonly samples: readonly BacktestSample[];
  readonly elapsedMs: number;
}

function describe(action: string, options: Readonly<Record<string, unknown>>): string {
  const s = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  switch (action) {
    case 'http':
      return `${s(options.method ?? 'POST')} ${s(options.url)}`;
    case 'emit':
      return `emit an event of type ${s(options.type)}`;
    case 'exec':
      return `run ${s(options.command)} ${Array.isArray(options.args) ? options.args.map(s).join(' ') : ''}`.trim();
    case 'log':
      return `log at ${s(options.level ?? 'info')}`;
    default:
      return `${action} ${JSON.stringify(options)}`;
  }
}

export async function runBacktest(o: BacktestOptions): Promise<BacktestReport> {
  const started = o.clock.now();
  const until = o.range.until ?? started;
  const matcher = createMatcher<string>();
  matcher.set(o.rule.name, o.rule.match);
  const targets = o.rule.targets.map((t) => ({
    spec: t,
    transform: compileTransform(t.input),
    forecast: {
      target: t.id,
      action: t.action,
      would: describe(t.action, t.with),
      deliveries: 0,
      transformErrors: 0,
    } as {
      -readonly [K in keyof TargetForecast]: TargetForecast[K];
    },
  }));
  const total = await rangeSize(o.log, { since: o.range.since, until });
  const samples: BacktestSample[] = [];
  const maxSamples = o.samples ?? 20;
  let scanned = 0;
  let matched = 0;
  for await (const page of readRange(o.log, { since: o.range.since, until }, o.signal)) {
    for (const record of page) {
      scanned++;
      if (matcher.match(record.event).length === 0) continue;
      matched++;
      const payloads: Record<string, unknown> = {};
      for (const t of targets) {
        const r = t.transform(record.event);
        if (r.ok) t.forecast.deliveries++;
        else {
          t.forecast.transformErrors++;
          t.forecast.firstTransformError ??= r.error.message;
        }
        payloads[t.spec.id] = r.ok ? r.payload : { error: r.error.message };
      }
      if (samples.length < maxSamples) {
        const { id, source, type, time } = record.event;
        const appendedAt = new Date(record.appendedAt).toISOString();
        samples.push({ offset: record.offset, id, source, type, time, appendedAt, payloads });
      }
    }
    o.onProgress?.({ scanned, total, matched });
  }
  return {
    rule: o.rule.name,
    since: new Date(o.range.since).toISOString(),
    until: new Date(until).toISOString(),
    scanned,
    matched,
    targets: targets.map((t) => t.forecast),
    samples,
    elapsedMs: o.clock.now() - started,
  };
}
