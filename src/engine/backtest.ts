/**
 * @module Backtesting: runs a rule that is not enabled (or not even stored) over a time range of
 * the log and reports what it would have matched and done, executing nothing. A rule with `when`
 * is evaluated too: the matched events go through a fresh condition state at their append times
 * (deadlines run in between and up to the range's end), and its targets are forecast on the
 * `homeostat.condition.fired` events it would have appended.
 */
import type { Clock } from '../core/clock.js';
import { compileTransform } from '../core/delivery/transform.js';
import { createMatcher } from '../core/pattern/index.js';
import type { CloudEvent } from '../core/event.js';
import { whenKind, type WhenKind } from '../core/conditions/types.js';
import type { RuleSpec } from '../core/rules/types.js';
import type { EventLog, LogRecord } from '../ports/event-log.js';
import { createRuleCondition, type FiredEvent, firedRuleOf, type RuleCondition } from './condition-rule.js';
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

/**
 * A matched event, or for a rule with `when` a firing: then `id`/`source`/`type` are the fired
 * event's, `offset` the trigger's (-1 for a firing by time alone), `appendedAt` the firing time.
 */
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
  /** For a rule with `when`: its kind and how many times it would have fired (targets run per firing). */
  readonly condition?: { readonly kind: WhenKind; readonly fired: number };
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
  let fired = 0;
  const cond: RuleCondition | undefined = o.rule.when
    ? createRuleCondition(o.rule, 1, { startedAt: o.range.since })
    : undefined;
  /** Forecasts the targets on what they would receive; samples it. */
  const deliver = (event: CloudEvent, offset: number, appendedAt: number) => {
    const payloads: Record<string, unknown> = {};
    for (const t of targets) {
      const r = t.transform(event);
      if (r.ok) t.forecast.deliveries++;
      else {
        t.forecast.transformErrors++;
        t.forecast.firstTransformError ??= r.error.message;
      }
      payloads[t.spec.id] = r.ok ? r.payload : { error: r.error.message };
    }
    if (samples.length < maxSamples) {
      const { id, source, type, time } = event;
      samples.push({ offset, id, source, type, time, appendedAt: new Date(appendedAt).toISOString(), payloads });
    }
  };
  const fire = (list: readonly FiredEvent[]) => {
    for (const f of list) {
      fired++;
      deliver(f.event, f.trigger?.offset ?? -1, Date.parse(f.event.time!));
    }
  };
  const onMatch = (record: LogRecord) => {
    if (!cond) return deliver(record.event, record.offset, record.appendedAt);
    // Firings of a stored rule of the same name are not this backtest's.
    if (firedRuleOf(record.event) !== o.rule.name) fire(cond.feed(record));
  };
  for await (const page of readRange(o.log, { since: o.range.since, until }, o.signal)) {
    for (const record of page) {
      scanned++;
      if (matcher.match(record.event).length === 0) continue;
      matched++;
      onMatch(record);
    }
    o.onProgress?.({ scanned, total, matched });
  }
  if (cond) fire(cond.advance(until - 1));
  return {
    rule: o.rule.name,
    since: new Date(o.range.since).toISOString(),
    until: new Date(until).toISOString(),
    scanned,
    matched,
    ...(o.rule.when ? { condition: { kind: whenKind(o.rule.when), fired } } : {}),
    targets: targets.map((t) => t.forecast),
    samples,
    elapsedMs: o.clock.now() - started,
  };
}
