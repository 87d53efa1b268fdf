/** @module Scrapes Prometheus text-format endpoints on an interval and publishes one `infra.metrics` event per group per scrape. */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { ErrorCode, hasCode } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import { resourceRef } from '../../core/infra/types.js';
import { mapScrape } from '../../core/prometheus/metrics.js';
import { parsePrometheusText } from '../../core/prometheus/parse.js';
import { type ExpositionIndex, indexExposition } from '../../core/prometheus/series.js';
import type { ResolvedPrometheusSource } from './config.js';

/** Appends events through ingest (schemas and dedup apply); resolves when they are durable. */
export type Publish = (events: readonly CloudEvent[]) => Promise<unknown>;

export interface ScrapeDeps {
  readonly publish: Publish;
  readonly clock: Clock;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

/** Event sources are `homeostat/scrape/<source name>`. */
export const SCRAPE_SOURCE_PREFIX = 'homeostat/scrape/';
/** A response body larger than this fails the scrape (`too-large`). */
export const MAX_SCRAPE_BYTES = 16 * 1_048_576;
const ACCEPT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';

/** Why a scrape failed; `data.kind` of `infra.scrape.failed`. */
export type ScrapeFailureKind = 'timeout' | 'connect' | 'http' | 'parse' | 'too-large';

/** What one scrape did (for callers and tests; failures are also events). */
export type ScrapeOutcome =
  | { readonly ok: true; readonly metrics: boolean }
  | { readonly ok: false; readonly kind: ScrapeFailureKind; readonly reason: string }
  | { readonly ok: false; readonly kind: 'closed' | 'internal'; readonly reason: string };

class ScrapeFailure extends Error {
  constructor(
    readonly kind: ScrapeFailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** One source: its scrape loop, its counter baseline and its failure streak. */
export interface PrometheusScraper {
  readonly source: ResolvedPrometheusSource;
  /** One scrape: fetch, parse, publish; never rejects. Resolves once its events are published. */
  scrape(): Promise<ScrapeOutcome>;
  /** Scrapes now and then every interval until `close`. */
  start(): void;
  /** Stops the loop, aborts a scrape in flight and waits for it. */
  close(): Promise<void>;
}

async function readBody(res: Response, limit: number): Promise<string> {
  if (Number(res.headers.get('content-length') ?? 0) > limit) {
    await res.body?.cancel();
    throw new ScrapeFailure('too-large', `response larger than ${limit} bytes`);
  }
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new ScrapeFailure('too-large', `response larger than ${limit} bytes`);
    }
    text += decoder.decode(value, { stream: true });
  }
}

async function fetchExposition(url: string, signal: AbortSignal): Promise<string> {
  const res = await fetch(url, { signal, headers: { accept: ACCEPT } });
  if (!res.ok) {
    await res.body?.cancel();
    throw new ScrapeFailure('http', `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, res.status);
  }
  return readBody(res, MAX_SCRAPE_BYTES);
}

function classify(err: unknown, timeoutMs: number): ScrapeFailure {
  if (err instanceof ScrapeFailure) return err;
  if (hasCode(err, ErrorCode.INVALID)) return new ScrapeFailure('parse', err.message);
  if ((err as Error).name === 'TimeoutError') return new ScrapeFailure('timeout', `no answer within ${timeoutMs}ms`);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const message = cause?.message ?? (err as Error).message;
  const code = cause?.code;
  const detail = code === undefined || message.includes(code) ? message : `${code}: ${message}`;
  return new ScrapeFailure('connect', detail.trim());
}

/** Rejections in an ingest report (`[{ status: 'rejected', code, problems }]`), if the result is one. */
function rejections(result: unknown): unknown[] {
  if (!Array.isArray(result)) return [];
  return result.filter((r) => (r as { status?: unknown } | null)?.status === 'rejected');
}

interface Streak {
  readonly since: number;
  failures: number;
}

/** A scraper for one source; see {@link PrometheusScraper}. */
export function createPrometheusScraper(source: ResolvedPrometheusSource, deps: ScrapeDeps): PrometheusScraper {
  const { clock, logger } = deps;
  const subject = resourceRef('InstanceGroup', source.group);
  const eventSource = `${SCRAPE_SOURCE_PREFIX}${source.name}`;
  const stamp = clock.now().toString(36) + Math.floor(Math.random() * 36 ** 4).toString(36);
  const closing = new AbortController();
  const warnedMissing = new Set<string>();
  let seq = 0;
  let prev: { index: ExpositionIndex; at: number } | undefined;
  let streak: Streak | undefined;
  let running: Promise<ScrapeOutcome> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started = false;

  const event = (type: string, at: number, data: Record<string, unknown>): CloudEvent => ({
    specversion: '1.0',
    id: `${source.name}-${stamp}-${(seq++).toString(36)}`,
    source: eventSource,
    type,
    subject,
    time: new Date(at).toISOString(),
    datacontenttype: 'application/json',
    partitionkey: subject,
    data,
  });

  const identity = () => ({ name: source.name, url: source.url, group: source.group });

  async function publish(events: CloudEvent[]): Promise<void> {
    try {
      const rejected = rejections(await deps.publish(events));
      if (rejected.length > 0) logger.warn({ source: source.name, rejected }, 'scrape events were rejected by ingest');
    } catch (err) {
      logger.warn({ err, source: source.name }, 'publishing scrape events failed; they are dropped');
    }
  }

  function metricsEvent(index: ExpositionIndex, at: number): CloudEvent | undefined {
    const before = prev;
    prev = { index, at };
    if (before === undefined) return undefined; // the first scrape is the baseline for rates
    const window = { prev: before.index, cur: index, windowMs: at - before.at };
    const metrics = mapScrape(source.metrics, window, { group: source.group, instanceName: source.name });
    for (const key of metrics.missing) {
      if (warnedMissing.has(key)) continue;
      warnedMissing.add(key);
      logger.warn({ source: source.name, url: source.url, key }, `metric for metrics.${key} not found in the scrape`);
    }
    const scrape = { name: source.name, url: source.url };
    return event('infra.metrics', at, { ...metrics, intervalMs: source.intervalMs, scrape });
  }

  async function succeeded(index: ExpositionIndex, at: number): Promise<ScrapeOutcome> {
    const events: CloudEvent[] = [];
    if (streak !== undefined) {
      const { since, failures } = streak;
      streak = undefined;
      logger.info({ source: source.name, url: source.url, failures }, 'scrape recovered');
      events.push(event('infra.scrape.recovered', at, { ...identity(), failures, downMs: at - since }));
    }
    const metrics = metricsEvent(index, at);
    if (metrics !== undefined) events.push(metrics);
    if (events.length > 0) await publish(events);
    return { ok: true, metrics: metrics !== undefined };
  }

  async function failed(failure: ScrapeFailure, at: number): Promise<ScrapeOutcome> {
    const outcome = { ok: false, kind: failure.kind, reason: failure.message } as const;
    if (streak !== undefined) {
      streak.failures++;
      logger.debug({ source: source.name, failures: streak.failures, reason: failure.message }, 'scrape failed again');
      return outcome;
    }
    streak = { since: at, failures: 1 };
    logger.warn({ source: source.name, url: source.url, reason: failure.message }, 'scrape failed');
    const data = { ...identity(), kind: failure.kind, reason: failure.message };
    await publish([
      event('infra.scrape.failed', at, failure.status === undefined ? data : { ...data, status: failure.status }),
    ]);
    return outcome;
  }

  async function scrapeOnce(): Promise<ScrapeOutcome> {
    if (closing.signal.aborted) return { ok: false, kind: 'closed', reason: 'the source is closed' };
    const at = clock.now();
    let index: ExpositionIndex;
    try {
      const signal = AbortSignal.any([closing.signal, AbortSignal.timeout(source.timeoutMs)]);
      const text = await fetchExposition(source.url, signal);
      index = indexExposition(parsePrometheusText(text, { origin: source.url }));
    } catch (err) {
      if (closing.signal.aborted) return { ok: false, kind: 'closed', reason: 'the source is closed' };
      return failed(classify(err, source.timeoutMs), at);
    }
    return succeeded(index, at);
  }

  function scrape(): Promise<ScrapeOutcome> {
    // One scrape at a time: a caller during a scrape shares its outcome.
    running ??= scrapeOnce()
      .catch((err: unknown): ScrapeOutcome => {
        logger.error({ err, source: source.name }, 'scrape crashed');
        return { ok: false, kind: 'internal', reason: (err as Error).message };
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function loop(due: number): void {
    timer = setTimeout(
      () => {
        void scrape().then(() => {
          if (closing.signal.aborted) return;
          const now = performance.now();
          // Fixed rate; intervals missed by a slow scrape are skipped, not caught up.
          let next = due + source.intervalMs;
          while (next <= now) next += source.intervalMs;
          loop(next);
        });
      },
      Math.max(0, due - performance.now()),
    );
    timer.unref();
  }

  return {
    source,
    scrape,
    start() {
      if (started || closing.signal.aborted) return;
      started = true;
      loop(performance.now());
    },
    async close() {
      closing.abort();
      clearTimeout(timer);
      await running;
    },
  };
}

/** Every configured scrape source, started and closed together. */
export interface PrometheusSources {
  readonly scrapers: readonly PrometheusScraper[];
  start(): void;
  close(): Promise<void>;
}

/**
 * One scraper per entry of `config.sources.prometheus` (a ResolvedConfig fits). Nothing runs
 * until `start`.
 */
export function createPrometheusSources(
  config: { readonly sources: { readonly prometheus: readonly ResolvedPrometheusSource[] } },
  deps: ScrapeDeps,
): PrometheusSources {
  const scrapers = config.sources.prometheus.map((s) => createPrometheusScraper(s, deps));
  return {
    scrapers,
    start() {
      for (const s of scrapers) s.start();
    },
    async close() {
      await Promise.all(scrapers.map((s) => s.close()));
    },
  };
}
