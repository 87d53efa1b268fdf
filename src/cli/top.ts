/**
 * @module `homeostat top`: a live terminal view of groups, load, capacity, recent decisions and
 * incidents, polled from the HTTP API and drawn by {@link renderTop}.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { parseDuration } from '../core/durations.js';
import type { HomeostatClient, Query } from './client.js';
import { type ClientFlags, clientFrom, examples, withClientOptions } from './options.js';
import { usageError } from './output.js';
import {
  renderTop,
  SPARK_MAX,
  type TopDecision,
  type TopGroup,
  type TopGroupMetrics,
  type TopIncident,
  type TopSection,
  type TopSnapshot,
} from './top-view.js';

interface TopFlags extends ClientFlags {
  readonly interval: string;
  readonly once?: boolean;
  /** False with --no-color. */
  readonly color: boolean;
}

/** Shortest refresh interval accepted. */
export const MIN_INTERVAL_MS = 100;
/** Events per second are counted over this trailing window. */
const RATE_WINDOW_S = 10;
/** `infra.metrics` older than this are not shown (the group shows `-`). */
const METRICS_MAX_AGE = '60s';
/** Decisions and incidents read per refresh (more than any terminal shows). */
const DECISIONS_READ = 50;
/** `infra.metrics` records read on the first refresh (and at most on later ones). */
const METRICS_READ = 200;
const INCIDENTS_READ = 50;
/** Frame size when stdout is not a terminal and COLUMNS / LINES are not set. */
const DEFAULT_SIZE = { width: 80, height: 24 } as const;

/** Terminal control sequences (ECMA-48 and the xterm alternate screen). */
const Ansi = {
  altScreenOn: '\x1b[?1049h',
  altScreenOff: '\x1b[?1049l',
  hideCursor: '\x1b[?25l',
  showCursor: '\x1b[?25h',
  clearLine: '\x1b[K',
  clearBelow: '\x1b[J',
  moveTo: (row: number) => `\x1b[${row};1H`,
} as const;

export function registerTop(program: Command): void {
  const cmd = program
    .command('top')
    .description(
      'live terminal view of instance groups (size, load, latency, errors), recent automated decisions and open incidents; q quits',
    )
    .option('--interval <duration>', 'time between refreshes, e.g. 500ms or 2s', '1s')
    .option('--once', 'print one frame (no terminal control codes) and exit; for scripts')
    .option('--no-color', 'no colours (also when NO_COLOR is set or stdout is not a terminal)');
  withClientOptions(cmd, { json: false }).action((flags: TopFlags) => runTop(flags));
  examples(cmd, [
    'homeostat top',
    'homeostat top --interval 2s --url http://10.0.0.5:8420 --token $TOKEN',
    'homeostat top --once --no-color',
  ]);
}

/** Parses --interval: a duration of at least MIN_INTERVAL_MS, or a usage error naming the flag. */
export function parseInterval(raw: string): number {
  let ms: number;
  try {
    ms = parseDuration(raw, '--interval');
  } catch (cause) {
    throw usageError(`--interval: '${raw}' is not a duration; use e.g. 500ms, 1s or 5s`, cause);
  }
  if (ms < MIN_INTERVAL_MS) throw usageError(`--interval: '${raw}' is too short; use at least ${MIN_INTERVAL_MS}ms`);
  return ms;
}

async function runTop(flags: TopFlags): Promise<void> {
  const intervalMs = parseInterval(flags.interval);
  const poller = createTopPoller(clientFrom(flags), intervalMs);
  const stdout = process.stdout;
  const color = flags.color && stdout.isTTY === true && !process.env.NO_COLOR;
  if (flags.once) {
    // One frame for scripts: a server that cannot be read is a failure, not a frame.
    const snapshot = await poller.refresh(undefined, { throwOnError: true });
    stdout.write(`${renderTop(snapshot, { ...frameSize(), color, now: Date.now() })}\n`);
    return;
  }
  if (stdout.isTTY) await runLive(poller, intervalMs, color);
  else await runBatch(poller, intervalMs);
}

/** The frame size: the terminal's, else COLUMNS and LINES, else 80×24. */
function frameSize(): { width: number; height: number } {
  const stdout = process.stdout;
  if (stdout.isTTY && stdout.columns > 0 && stdout.rows > 0) return { width: stdout.columns, height: stdout.rows };
  const env = (name: string, fallback: number) => {
    const n = Number(process.env[name]);
    return Number.isInteger(n) && n > 0 ? n : fallback;
  };
  return { width: env('COLUMNS', DEFAULT_SIZE.width), height: env('LINES', DEFAULT_SIZE.height) };
}

/** Aborts on SIGINT and SIGTERM until `dispose`. */
function stopSignal(): { signal: AbortSignal; stop(): void; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    stop,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** Not a terminal and not --once: a frame every interval, separated by a blank line, until a signal. */
async function runBatch(poller: TopPoller, intervalMs: number): Promise<void> {
  const stop = stopSignal();
  try {
    await poll(poller, intervalMs, stop.signal, (snapshot) => {
      process.stdout.write(`${renderTop(snapshot, { ...frameSize(), color: false, now: Date.now() })}\n\n`);
    });
  } finally {
    stop.dispose();
  }
}

/** The terminal view: alternate screen, hidden cursor, redrawn every interval and on resize. */
async function runLive(poller: TopPoller, intervalMs: number, color: boolean): Promise<void> {
  const stdout = process.stdout;
  const stdin = process.stdin;
  const stop = stopSignal();
  let last: TopSnapshot | undefined;
  const draw = () => {
    if (last === undefined || stop.signal.aborted) return;
    const size = frameSize();
    const lines = renderTop(last, { ...size, color, now: Date.now() }).split('\n');
    let frame = lines.map((line, i) => `${Ansi.moveTo(i + 1)}${line}${Ansi.clearLine}`).join('');
    if (lines.length < size.height) frame += `${Ansi.moveTo(lines.length + 1)}${Ansi.clearBelow}`;
    stdout.write(frame);
  };
  const onKey = (data: Buffer | string) => {
    const keys = data.toString();
    // q, Q, or Ctrl-C (in raw mode Ctrl-C arrives as a byte, not as SIGINT).
    if (keys.includes('q') || keys.includes('Q') || keys.includes('\x03')) stop.stop();
  };
  const raw = stdin.isTTY === true;
  const restore = () => {
    stdout.write(`${Ansi.showCursor}${Ansi.altScreenOff}`);
  };
  // Last resort: an exit that skips `finally` (process.exit elsewhere) still gives the terminal back.
  const onExit = () => restore();
  process.on('exit', onExit);
  stdout.write(`${Ansi.altScreenOn}${Ansi.hideCursor}${Ansi.moveTo(1)}${Ansi.clearBelow}`);
  stdout.on('resize', draw);
  if (raw) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  last = poller.current();
  draw();
  try {
    await poll(poller, intervalMs, stop.signal, (snapshot) => {
      last = snapshot;
      draw();
    });
  } finally {
    stop.dispose();
    stdout.off('resize', draw);
    if (raw) {
      stdin.off('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
    restore();
    process.off('exit', onExit);
  }
}

/** Refreshes every `intervalMs` (from the start of one refresh to the next) until `signal`. */
async function poll(
  poller: TopPoller,
  intervalMs: number,
  signal: AbortSignal,
  show: (snapshot: TopSnapshot) => void,
): Promise<void> {
  while (!signal.aborted) {
    const started = Date.now();
    const snapshot = await poller.refresh(signal);
    if (signal.aborted) return;
    show(snapshot);
    try {
      await sleep(Math.max(0, intervalMs - (Date.now() - started)), undefined, { signal });
    } catch {
      return;
    }
  }
}

/** Keeps the latest snapshot and each group's history; `refresh` reads the API once. */
export interface TopPoller {
  /** The snapshot so far (empty before the first refresh). */
  current(): TopSnapshot;
  /**
   * Reads everything once. On failure the previous data is kept and `error` says why, unless
   * `throwOnError` (then the error is thrown). Resolves with the new snapshot.
   */
  refresh(signal?: AbortSignal, options?: { readonly throwOnError?: boolean }): Promise<TopSnapshot>;
}

interface History {
  rps: (number | undefined)[];
  instances: (number | undefined)[];
}

/** Creates the poller of `top` for one server. */
export function createTopPoller(client: HomeostatClient, intervalMs: number): TopPoller {
  const history = new Map<string, History>();
  let snapshot: TopSnapshot = { url: client.url, intervalMs, groups: [], decisions: [], incidents: [] };
  const timeoutMs = Math.max(3_000, intervalMs * 3);
  let refreshed = false;
  return {
    current: () => snapshot,
    async refresh(signal, options = {}) {
      const timeout = AbortSignal.timeout(timeoutMs);
      // The first read takes a minute of metrics to draw the sparklines from; later ones the newest.
      const metricsLimit = refreshed ? Math.min(METRICS_READ, Math.max(20, snapshot.groups.length * 3)) : METRICS_READ;
      try {
        const reading = await readAll(client, signal ? AbortSignal.any([signal, timeout]) : timeout, metricsLimit);
        refreshed = true;
        snapshot = {
          ...reading,
          url: client.url,
          intervalMs,
          groups: withHistory(reading.groups, history),
        };
      } catch (err) {
        if (options.throwOnError) throw err;
        if (signal?.aborted) return snapshot;
        snapshot = { ...snapshot, error: err instanceof Error ? err.message : String(err) };
      }
      return snapshot;
    },
  };
}

function push<T>(list: T[], value: T): void {
  list.push(value);
  if (list.length > SPARK_MAX) list.splice(0, list.length - SPARK_MAX);
}

/**
 * Adds this refresh's sample to each group's history (a new group's starts with the metrics read
 * before the newest); forgets groups that are gone.
 */
function withHistory(groups: readonly GroupReading[], history: Map<string, History>): TopGroup[] {
  const seen = new Set<string>();
  const out = groups.map(({ past, ...g }) => {
    const key = `${g.stack}/${g.name}`;
    seen.add(key);
    let h = history.get(key);
    if (h === undefined) {
      h = { rps: past.map((m) => m.rps), instances: past.map((m) => m.instances) };
      history.set(key, h);
    }
    push(h.rps, g.metrics?.rps);
    push(h.instances, g.live);
    return { ...g, rpsHistory: [...h.rps], instancesHistory: [...h.instances] };
  });
  for (const key of [...history.keys()]) if (!seen.has(key)) history.delete(key);
  return out;
}

interface GroupReading extends Omit<TopGroup, 'rpsHistory' | 'instancesHistory'> {
  /** Older samples from the metrics read, oldest first (before the one in `metrics`). */
  readonly past: readonly MetricsSample[];
}

type GroupSize = Omit<GroupReading, 'metrics' | 'past'>;

interface Reading extends Omit<TopSnapshot, 'url' | 'groups'> {
  readonly groups: readonly GroupReading[];
}

const statusOf = (err: unknown): number | undefined => {
  const status = (err as { details?: { status?: unknown } } | undefined)?.details?.status;
  return typeof status === 'number' ? status : undefined;
};

/** Unreachable, timed out, or not allowed: the whole refresh failed (the other reads would too). */
function isFatal(err: unknown): boolean {
  const status = statusOf(err);
  return status === undefined || status === 401 || status === 403;
}

function why(err: unknown): string {
  const status = statusOf(err);
  return status === 404 ? 'not served by this server (HTTP 404)' : (err as Error).message;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const numberOr = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const time = (v: unknown): number => (typeof v === 'string' ? Date.parse(v) : (numberOr(v) ?? Number.NaN));

/** Every read of one refresh, in parallel; an optional part that fails is left out. */
async function readAll(client: HomeostatClient, signal: AbortSignal, metricsLimit: number): Promise<Reading> {
  const get = async <T>(path: string, query?: Query): Promise<T> =>
    (await client.request<T>('GET', path, { query, signal })).body;
  const settled = await Promise.allSettled([
    readGroups(get),
    get<{ events: readonly { event: Obj }[] }>('/v1/events', {
      type: 'infra.metrics',
      order: 'desc',
      since: METRICS_MAX_AGE,
      limit: metricsLimit,
    }),
    get<{ actions: readonly Obj[] }>('/v1/actions', { limit: DECISIONS_READ }),
    get<{ incidents: readonly Obj[] }>('/v1/incidents', { status: 'open', limit: INCIDENTS_READ }),
    get<{ ratePerHour?: unknown }>('/v1/cost', { since: '1h', changes: 0 }),
    readEventRate(get),
    get<string>('/metrics'),
  ] as const);
  const fatal = settled.find((r) => r.status === 'rejected' && isFatal(r.reason));
  if (fatal?.status === 'rejected') throw fatal.reason;
  const [groups, metrics, actions, incidents, cost, rate, prometheus] = settled;
  const unavailable: Partial<Record<TopSection, string>> = {};
  if (groups.status === 'rejected') unavailable.groups = why(groups.reason);
  if (actions.status === 'rejected') unavailable.decisions = why(actions.reason);
  if (incidents.status === 'rejected') unavailable.incidents = why(incidents.reason);
  const series =
    metrics.status === 'fulfilled' ? metricsByGroup(metrics.value.events) : new Map<string, GroupMetrics>();
  return {
    updatedAt: Date.now(),
    groups: (groups.status === 'fulfilled' ? groups.value : []).map((g) => {
      const m = series.get(g.name);
      return { ...g, metrics: m?.latest, past: m?.past ?? [] };
    }),
    decisions: actions.status === 'fulfilled' ? actions.value.actions.map(toDecision) : [],
    incidents: incidents.status === 'fulfilled' ? incidents.value.incidents.map(toIncident) : [],
    costPerHour: cost.status === 'fulfilled' ? numberOr(cost.value.ratePerHour) : undefined,
    eventsPerSec: rate.status === 'fulfilled' ? rate.value : undefined,
    consumerLag: prometheus.status === 'fulfilled' ? consumerLag(prometheus.value) : undefined,
    ...(Object.keys(unavailable).length > 0 ? { unavailable } : {}),
  };
}

type Get = <T>(path: string, query?: Query) => Promise<T>;

interface StackStatusWire {
  readonly groups?: readonly { name: string; desired: number; live: number; healthy: number }[];
}

/** Every stack's groups with their sizes, stacks by name; a stack deleted meanwhile is left out. */
async function readGroups(get: Get): Promise<GroupSize[]> {
  const { stacks } = await get<{ stacks: readonly { name: string }[] }>('/v1/stacks');
  const names = stacks.map((s) => s.name).sort();
  const statuses = await Promise.all(
    names.map((name) =>
      get<StackStatusWire>(`/v1/stacks/${encodeURIComponent(name)}/status`).catch((err: unknown) => {
        if (statusOf(err) === 404) return { groups: [] };
        throw err;
      }),
    ),
  );
  return names.flatMap((stack, i) =>
    (statuses[i]?.groups ?? []).map((g) => ({
      stack,
      name: g.name,
      desired: g.desired,
      live: g.live,
      healthy: g.healthy,
    })),
  );
}

/**
 * Events appended per second over the last RATE_WINDOW_S seconds: the offsets between the first
 * event appended in the window and the log's next offset.
 */
async function readEventRate(get: Get): Promise<number> {
  const [log, first] = await Promise.all([
    get<{ nextOffset: number }>('/v1/log'),
    get<{ events: readonly { offset: number }[] }>('/v1/events', { since: `${RATE_WINDOW_S}s`, limit: 1 }),
  ]);
  const from = first.events[0]?.offset;
  return from === undefined ? 0 : Math.max(0, log.nextOffset - from) / RATE_WINDOW_S;
}

/** The highest `homeostat_consumer_lag_events` sample in Prometheus text, if there is one. */
export function consumerLag(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  let lag: number | undefined;
  for (const m of text.matchAll(/^homeostat_consumer_lag_events(?:\{[^}]*\})?\s+(\S+)/gm)) {
    const v = Number(m[1]);
    if (Number.isFinite(v)) lag = Math.max(lag ?? 0, v);
  }
  return lag;
}

/** One `infra.metrics` event's values that the sparklines draw. */
interface MetricsSample {
  readonly rps?: number;
  readonly instances?: number;
}

/** A group's newest metrics and the samples before them, oldest first. */
export interface GroupMetrics {
  readonly latest: TopGroupMetrics;
  readonly past: readonly MetricsSample[];
}

/** The group an `infra.metrics` event describes: `data.group`, else the name in its subject. */
function metricsGroup(event: Obj, data: Obj): string | undefined {
  if (typeof data.group === 'string' && data.group !== '') return data.group;
  const subject = typeof event.subject === 'string' ? event.subject : '';
  return subject.includes('/') ? subject.slice(subject.indexOf('/') + 1) : undefined;
}

/** Each group's metrics from `infra.metrics` records given newest first. */
export function metricsByGroup(records: readonly { event: Obj }[]): Map<string, GroupMetrics> {
  const found = new Map<string, { latest: TopGroupMetrics; past: MetricsSample[] }>();
  for (const { event } of records) {
    const data = isObj(event.data) ? event.data : {};
    const group = metricsGroup(event, data);
    if (group === undefined) continue;
    const seen = found.get(group);
    if (seen !== undefined) {
      seen.past.unshift({ rps: numberOr(data.rps), instances: numberOr(data.instances) });
      continue;
    }
    const latency = isObj(data.latencyMs) ? data.latencyMs : {};
    const latest: TopGroupMetrics = {
      rps: numberOr(data.rps),
      p99Ms: numberOr(latency.p99),
      errorRate: numberOr(data.errorRate),
      cpu: isObj(data.cpu) ? numberOr(data.cpu.avg) : numberOr(data.cpu),
    };
    found.set(group, { latest, past: [] });
  }
  return found;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const sizeOf = (v: unknown): number | string | undefined =>
  typeof v === 'number' || typeof v === 'string' ? v : undefined;

/** An action record (docs/API.md, "Actions") as a decision line. */
export function toDecision(a: Obj): TopDecision {
  const params = isObj(a.params) ? a.params : {};
  const from = sizeOf(params.from);
  const to = sizeOf(params.to);
  return {
    at: time(a.at),
    policy: text(a.policy) ?? '?',
    action: text(a.action) ?? '?',
    resource: text(a.resource) ?? '',
    outcome: text(a.outcome) ?? '?',
    ...(from !== undefined && to !== undefined ? { from, to } : {}),
    ...(text(a.reason) === undefined ? {} : { reason: text(a.reason) }),
    ...(text(a.why) === undefined ? {} : { why: text(a.why) }),
    ...(text(a.rail) === undefined ? {} : { rail: text(a.rail) }),
    ...(text(a.approval) === undefined ? {} : { approval: text(a.approval) }),
  };
}

/** An incident (docs/API.md, "Incidents") as an incident line. */
export function toIncident(i: Obj): TopIncident {
  return {
    id: text(i.id) ?? '?',
    severity: text(i.severity) ?? '?',
    group: text(i.group) ?? text(i.resource) ?? '-',
    openedAt: time(i.openedAt),
    title: text(i.title) ?? '',
    ...(text(i.acknowledgedBy) === undefined ? {} : { acknowledgedBy: text(i.acknowledgedBy) }),
  };
}
