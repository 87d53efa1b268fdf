/** @module The configuration of Prometheus scrape sources (`sources.prometheus`): shape, defaults, checks. */
import { parseDuration } from '../../core/durations.js';
import { ErrorCode, type Problem, invalid } from '../../core/errors.js';
import { RESOURCE_NAME } from '../../core/infra/stack.js';
import type { LatencyUnit, MetricsMapping } from '../../core/prometheus/metrics.js';

/** One scrape source as users write it under `sources.prometheus`. */
export interface PrometheusSourceConfig {
  /** Unique among the sources; the event source is `homeostat/scrape/<name>`. */
  name: string;
  /** An http(s) URL serving the Prometheus text format, e.g. http://127.0.0.1:9100/metrics. */
  url: string;
  /** Scrape interval; default '1s'. */
  interval?: string | number;
  /** Per-scrape timeout; default the interval, at most 10s. Must not exceed the interval. */
  timeout?: string | number;
  /** The InstanceGroup the metrics describe: events carry subject `instancegroup/<group>`. */
  group: string;
  metrics: {
    requests?: string;
    /** A counter name (every series counts), or a counter with a label filter. */
    errors?: string | { metric: string; label?: string; match?: string };
    /** A histogram or summary name (unit from its suffix), or with an explicit unit. */
    latency?: string | { metric: string; unit?: LatencyUnit };
    inFlight?: string;
    cpu?: string;
    memory?: string;
    instances?: string;
  };
}

/** A validated source: durations in milliseconds, the mapping normalised, frozen. */
export interface ResolvedPrometheusSource {
  readonly name: string;
  readonly url: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly group: string;
  readonly metrics: MetricsMapping;
}

/** The config key named in error messages. */
export const PROMETHEUS_SOURCES_KEY = 'sources.prometheus';
export const DEFAULT_SCRAPE_INTERVAL = '1s';
/** The default timeout is the interval, capped at this (Prometheus' default scrape timeout). */
export const MAX_DEFAULT_TIMEOUT_MS = 10_000;
/** Shortest interval accepted. */
export const MIN_SCRAPE_INTERVAL_MS = 50;

const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const metricName = { type: 'string', minLength: 1 } as const;
const unit = { type: ['string', 'number'] } as const;

/** JSON Schema of `sources` (shape only; resolvePrometheusSources checks the values). */
export const SOURCES_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    prometheus: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'url', 'group', 'metrics'],
        properties: {
          name: { type: 'string' },
          url: { type: 'string' },
          interval: unit,
          timeout: unit,
          group: { type: 'string' },
          metrics: {
            type: 'object',
            additionalProperties: false,
            properties: {
              requests: metricName,
              errors: {
                type: ['string', 'object'],
                additionalProperties: false,
                required: ['metric'],
                properties: { metric: metricName, label: { type: 'string' }, match: { type: 'string' } },
              },
              latency: {
                type: ['string', 'object'],
                additionalProperties: false,
                required: ['metric'],
                properties: { metric: metricName, unit: { enum: ['seconds', 'milliseconds'] } },
              },
              inFlight: metricName,
              cpu: metricName,
              memory: metricName,
              instances: metricName,
            },
          },
        },
      },
    },
  },
} as const;

/** Collects problems for one source, pointers like `sources.prometheus[0].url`. */
class Checker {
  readonly problems: Problem[] = [];
  constructor(readonly at: string) {}
  add(field: string, message: string): void {
    this.problems.push({ pointer: `${this.at}.${field}`, message });
  }
}

function checkUrl(c: Checker, url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    c.add('url', `'${url}' is not an http(s) URL; use e.g. http://127.0.0.1:9100/metrics`);
  }
}

function duration(c: Checker, field: string, raw: string | number): number | undefined {
  const key = `${c.at}.${field}`;
  try {
    return parseDuration(raw, key);
  } catch (err) {
    c.add(field, (err as Error).message.replace(`${key}: `, ''));
    return undefined;
  }
}

function timing(c: Checker, raw: PrometheusSourceConfig): { intervalMs: number; timeoutMs: number } {
  const intervalMs = duration(c, 'interval', raw.interval ?? DEFAULT_SCRAPE_INTERVAL) ?? 1000;
  if (intervalMs < MIN_SCRAPE_INTERVAL_MS) {
    c.add('interval', `${intervalMs}ms is too short; use at least ${MIN_SCRAPE_INTERVAL_MS}ms`);
  }
  const timeoutMs =
    raw.timeout === undefined
      ? Math.min(intervalMs, MAX_DEFAULT_TIMEOUT_MS)
      : (duration(c, 'timeout', raw.timeout) ?? intervalMs);
  if (timeoutMs <= 0 || timeoutMs > intervalMs) {
    c.add('timeout', `${timeoutMs}ms must be above 0 and at most the interval (${intervalMs}ms)`);
  }
  return { intervalMs, timeoutMs };
}

function metricOf(c: Checker, field: string, name: string): string {
  if (!METRIC_NAME.test(name)) {
    c.add(`metrics.${field}`, `'${name}' is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
  }
  return name;
}

function errorsOf(c: Checker, raw: NonNullable<PrometheusSourceConfig['metrics']['errors']>): MetricsMapping['errors'] {
  if (typeof raw === 'string') return Object.freeze({ metric: metricOf(c, 'errors', raw) });
  const metric = metricOf(c, 'errors.metric', raw.metric);
  if (raw.label === undefined) {
    if (raw.match !== undefined) c.add('metrics.errors.match', "needs 'label': the label whose value it matches");
    return Object.freeze({ metric });
  }
  if (!LABEL_NAME.test(raw.label)) c.add('metrics.errors.label', `'${raw.label}' is not a label name`);
  if (raw.match === undefined) {
    c.add('metrics.errors', `'label' needs 'match', a regular expression such as '^5' for 5xx codes`);
    return Object.freeze({ metric });
  }
  try {
    new RegExp(raw.match);
  } catch (err) {
    c.add('metrics.errors.match', `'${raw.match}' is not a regular expression: ${(err as Error).message}`);
  }
  return Object.freeze({ metric, label: raw.label, match: raw.match });
}

/** Latency unit from the name when not given: `_milliseconds` / `_ms` are ms, anything else seconds. */
export function latencyUnitOf(metric: string): LatencyUnit {
  return /_(milliseconds|ms)$/.test(metric) ? 'milliseconds' : 'seconds';
}

function latencyOf(
  c: Checker,
  raw: NonNullable<PrometheusSourceConfig['metrics']['latency']>,
): MetricsMapping['latency'] {
  const metric = metricOf(
    c,
    typeof raw === 'string' ? 'latency' : 'latency.metric',
    typeof raw === 'string' ? raw : raw.metric,
  );
  const unit = typeof raw === 'string' ? undefined : raw.unit;
  return Object.freeze({ metric, unit: unit ?? latencyUnitOf(metric) });
}

const MAPPING_KEYS = ['requests', 'errors', 'latency', 'inFlight', 'cpu', 'memory', 'instances'] as const;

function mappingOf(c: Checker, raw: PrometheusSourceConfig['metrics']): MetricsMapping {
  if (Object.keys(raw).length === 0) {
    c.add('metrics', `maps no metric; name at least one of ${MAPPING_KEYS.join(', ')}`);
  }
  const out: { -readonly [K in keyof MetricsMapping]: MetricsMapping[K] } = {};
  for (const key of ['requests', 'inFlight', 'cpu', 'memory', 'instances'] as const) {
    const name = raw[key];
    if (name !== undefined) out[key] = metricOf(c, key, name);
  }
  if (raw.errors !== undefined) out.errors = errorsOf(c, raw.errors);
  if (raw.latency !== undefined) out.latency = latencyOf(c, raw.latency);
  return Object.freeze(out);
}

function resolveOne(raw: PrometheusSourceConfig, i: number, names: Set<string>): [ResolvedPrometheusSource, Problem[]] {
  const c = new Checker(`${PROMETHEUS_SOURCES_KEY}[${i}]`);
  if (!SOURCE_NAME.test(raw.name)) {
    c.add('name', `'${raw.name}' is not a valid name; use 1 to 64 letters, digits, '_', '.', '-'`);
  } else if (names.has(raw.name)) {
    c.add('name', `'${raw.name}' is used by another source; names must be unique`);
  }
  names.add(raw.name);
  checkUrl(c, raw.url);
  if (!RESOURCE_NAME.test(raw.group)) {
    c.add('group', `'${raw.group}' is not an InstanceGroup name; use lower-case letters, digits and '-' (e.g. web)`);
  }
  const source = {
    name: raw.name,
    url: raw.url,
    group: raw.group,
    ...timing(c, raw),
    metrics: mappingOf(c, raw.metrics),
  };
  return [Object.freeze(source), c.problems];
}

/** Validates and normalises `sources.prometheus` (throws E_CONFIG_INVALID naming every bad key). */
export function resolvePrometheusSources(
  raw: readonly PrometheusSourceConfig[] | undefined,
): readonly ResolvedPrometheusSource[] {
  const names = new Set<string>();
  const problems: Problem[] = [];
  const out = (raw ?? []).map((entry, i) => {
    const [source, found] = resolveOne(entry, i, names);
    problems.push(...found);
    return source;
  });
  if (problems.length > 0) throw invalid('invalid configuration', problems, ErrorCode.CONFIG_INVALID);
  return Object.freeze(out);
}
