/** @module GET /v1/series: load, capacity, decisions, cost rate and consumer lag over time, for plots (docs/API.md). */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/durations.js';
import { invalid } from '../core/errors.js';
import type { EventLog } from '../ports/event-log.js';
import { computeSeries, defaultStep, type LagSampler, SERIES_MAX_BUCKETS, type SeriesQuery } from '../engine/series.js';
import { listParam, type Query, timeParam } from './params.js';

export interface SeriesRoutesDeps {
  readonly log: EventLog;
  readonly clock: Clock;
  /** Consumer lag samples; without it `lag` is empty. */
  readonly lag?: LagSampler;
}

const DEFAULT_RANGE_MS = 15 * 60_000;
const MIN_STEP_MS = 100;

function single(q: Query, name: string): string | undefined {
  const v = q[name];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** `since` (default 15m), `until` (default now), `step` (default: ≤ 300 points), `group` (repeatable). */
export function parseSeriesQuery(q: Query, now: number): SeriesQuery {
  const since = timeParam(q, 'since', now) ?? now - DEFAULT_RANGE_MS;
  const to = timeParam(q, 'until', now) ?? now;
  if (since >= to) {
    throw invalid('invalid series range', [
      { pointer: '?since', message: 'must be before until (default: now); e.g. since=15m' },
    ]);
  }
  const rawStep = single(q, 'step');
  let stepMs = defaultStep(to - since);
  if (rawStep !== undefined) {
    try {
      stepMs = parseDuration(rawStep, 'step');
    } catch {
      throw invalid('invalid series step', [{ pointer: '?step', message: 'use a duration such as 10s or 1m' }]);
    }
    if (stepMs < MIN_STEP_MS)
      throw invalid('invalid series step', [{ pointer: '?step', message: `must be at least ${MIN_STEP_MS}ms` }]);
  }
  const from = Math.floor(since / stepMs) * stepMs;
  if ((to - from) / stepMs > SERIES_MAX_BUCKETS) {
    const least = Math.ceil((to - from) / SERIES_MAX_BUCKETS / 1_000);
    throw invalid('invalid series step', [
      {
        pointer: '?step',
        message: `gives more than ${SERIES_MAX_BUCKETS} points over this range; use at least ${least}s, or omit it`,
      },
    ]);
  }
  const groups = listParam(q, 'group');
  return { from, to, stepMs, ...(groups === undefined ? {} : { groups }) };
}

export function registerSeriesRoutes(app: FastifyInstance, deps: SeriesRoutesDeps): void {
  app.get('/v1/series', { config: { scope: 'read' } }, async (req) =>
    computeSeries(deps.log, parseSeriesQuery(req.query as Query, deps.clock.now()), deps.lag),
  );
}
