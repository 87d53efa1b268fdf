/**
 * @module The cost tracker: follows the log for instance lifecycle events (`infra.instance.*`) and
 * the events that cause them (decisions, actions, condition firings, schedule fires), keeps one
 * running interval per instance with its type's price, and records every cost change with the
 * event that made it in the cost ledger, together with the log offset it has read up to: after a
 * restart it resumes from there, so nothing is counted twice or missed. It publishes
 * `cost.changed` for each change and `cost.anomaly` when the rate jumps against its baseline.
 *
 * On its very first start (no offset stored) it follows from the end of the log and seeds the
 * instances running now from the infrastructure, each as an `observed` change.
 */
import {
  type AnomalyOptions,
  type BaselineState,
  DEFAULT_ANOMALY_OPTIONS,
  observeRate,
} from '../../core/cost/anomaly.js';
import type { Clock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import type { CostChange, CostChangeKind, CostLedger, LedgerInterval, LedgerStep } from '../../ports/cost-ledger.js';
import type { EventLog, LogRecord } from '../../ports/event-log.js';
import type { GroupView, Publish } from '../automation/types.js';
import { createOrderedPublisher } from '../infra/events.js';
import { CAUSE_TYPES, causeRecord, TRIGGER_TYPES } from './attribution.js';
import { type AnomalyRecord, anomalyEvent, changeEvent, FINOPS_SOURCE } from './cost-events.js';

const START_TYPES = ['infra.instance.started', 'infra.instance.adopted'];
const END_TYPES = ['infra.instance.stopped', 'infra.instance.crashed'];
/** Every event type the tracker reads. */
export const TRACKED_TYPES: readonly string[] = [
  ...new Set([...START_TYPES, ...END_TYPES, ...CAUSE_TYPES, ...TRIGGER_TYPES]),
];

const OFFSET_KEY = 'tracker.offset';
const ANOMALY_KEY = 'tracker.anomaly';
/** Triggers (metrics) remembered in memory, so an action can name the one that caused it. */
const TRIGGER_MEMORY = 4_096;

export interface CostTrackerOptions {
  readonly log: EventLog;
  readonly ledger: CostLedger;
  readonly clock: Clock;
  readonly publish: Publish;
  /** The groups as they are now (stack, tags, instance type); looked up when an unknown group shows up. */
  readonly groups: () => Promise<readonly GroupView[]>;
  /** Price per hour of one instance of a provider's instance type; undefined when unknown (costs 0). */
  readonly price: (provider: string, instanceType: string) => number | undefined;
  readonly anomaly?: Partial<AnomalyOptions>;
  readonly onError?: (err: unknown) => void;
}

export interface CostTracker {
  start(): Promise<void>;
  /** Resolves once every tracked event appended before the call has been processed and published. */
  sync(): Promise<void>;
  /** Runs `fn` between two tracked events, so it sees the ledger and `running()` consistently. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Intervals of the instances running now. */
  running(): readonly LedgerInterval[];
  /** When tracking started (the first start ever, ms since epoch), once started. */
  trackingSince(): number | undefined;
  /** Called after each recorded change. */
  onChange(listener: (change: CostChange) => void): () => void;
  close(): Promise<void>;
}

interface GroupMeta {
  readonly stack?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly instanceType: string;
  readonly provider: string;
}

type Data = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const dataOf = (e: CloudEvent): Data => (typeof e.data === 'object' && e.data !== null ? (e.data as Data) : {});
const zero = (n: number): number => (Math.abs(n) < 1e-9 ? 0 : n);

/** Tags that describe Homeostat's own bookkeeping are left out of cost rollups. */
export function costTags(tags: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([k]) => !k.startsWith('homeostat.io/')));
}

function eventTime(e: CloudEvent, fallback: number): number {
  const t = e.time === undefined ? Number.NaN : Date.parse(e.time);
  return Number.isFinite(t) ? t : fallback;
}

function instanceOf(e: CloudEvent): string | undefined {
  const s = e.subject;
  if (s?.startsWith('instance/')) return s.slice('instance/'.length);
  return str(dataOf(e).instance);
}

export function createCostTracker(o: CostTrackerOptions): CostTracker {
  const anomalyOptions: AnomalyOptions = { ...DEFAULT_ANOMALY_OPTIONS, ...o.anomaly };
  const onError = o.onError ?? (() => undefined);
  const publisher = createOrderedPublisher(o.publish, onError);
  const open = new Map<string, LedgerInterval>();
  const groupRate = new Map<string, number>();
  const meta = new Map<string, GroupMeta>();
  const triggers = new Map<string, ReturnType<typeof causeRecord>>();
  const listeners = new Set<(c: CostChange) => void>();
  let baselines: Record<string, BaselineState> = {};
  let rate = 0;
  let cursor = 0;
  let since: number | undefined;
  let abort: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };

  async function refreshMeta(): Promise<void> {
    try {
      for (const g of await o.groups()) {
        const m = { tags: costTags(g.tags), instanceType: g.instanceType, provider: g.provider };
        meta.set(g.name, g.stack === undefined ? m : { ...m, stack: g.stack });
      }
    } catch (err) {
      onError(err);
    }
  }

  async function groupMeta(group: string): Promise<GroupMeta | undefined> {
    if (!meta.has(group)) await refreshMeta();
    return meta.get(group);
  }

  function track(i: LedgerInterval, sign: 1 | -1): void {
    if (sign === 1) open.set(i.instance, i);
    else open.delete(i.instance);
    rate = zero(rate + sign * i.pricePerHour);
    groupRate.set(i.group, zero((groupRate.get(i.group) ?? 0) + sign * i.pricePerHour));
  }

  function change(i: LedgerInterval, kind: CostChangeKind, at: number, delta: number, e: CloudEvent): CostChange {
    return {
      at,
      kind,
      instance: i.instance,
      group: i.group,
      ...(i.stack === undefined ? {} : { stack: i.stack }),
      tags: i.tags,
      instanceType: i.instanceType,
      deltaPerHour: delta,
      rateAfter: zero(rate + delta),
      eventId: e.id,
      eventType: e.type,
      ...(typeof e.causationid === 'string' ? { causeId: e.causationid } : {}),
    };
  }

  async function opened(e: CloudEvent, at: number): Promise<LedgerStep | undefined> {
    const instance = instanceOf(e);
    const d = dataOf(e);
    const previous = instance === undefined ? undefined : open.get(instance);
    if (instance === undefined || (previous && e.type === 'infra.instance.adopted')) return undefined;
    const group = str(d.group) ?? previous?.group;
    if (group === undefined) return undefined;
    const m = await groupMeta(group);
    const provider = e.source.startsWith('homeostat/provider/')
      ? e.source.slice('homeostat/provider/'.length)
      : (m?.provider ?? 'unknown');
    const instanceType = str(d.instanceType) ?? m?.instanceType ?? 'unknown';
    const price = o.price(provider, instanceType) ?? 0;
    const interval: LedgerInterval = {
      instance,
      group,
      ...(m?.stack === undefined ? {} : { stack: m.stack }),
      tags: m?.tags ?? {},
      provider,
      instanceType,
      pricePerHour: price,
      start: Math.max(at, previous?.start ?? at),
      startEvent: e.id,
      ...(typeof e.causationid === 'string' ? { startCause: e.causationid } : {}),
    };
    const kind = e.type === 'infra.instance.adopted' ? 'observed' : 'started';
    const step: LedgerStep = {
      open: interval,
      change: change(interval, kind, at, price - (previous?.pricePerHour ?? 0), e),
    };
    // A start without the previous run's end (an event lost to retention): that run ends here.
    return previous
      ? { ...step, close: { instance, start: previous.start, end: interval.start, endEvent: e.id } }
      : step;
  }

  function ended(e: CloudEvent, at: number): LedgerStep | undefined {
    const instance = instanceOf(e);
    const current = instance === undefined ? undefined : open.get(instance);
    if (current === undefined) return undefined;
    const end = Math.max(at, current.start);
    const kind = e.type === 'infra.instance.crashed' ? 'crashed' : 'stopped';
    const close = {
      instance: current.instance,
      start: current.start,
      end,
      endEvent: e.id,
      ...(typeof e.causationid === 'string' ? { endCause: e.causationid } : {}),
    };
    return { close, change: change(current, kind, end, -current.pricePerHour, e) };
  }

  /** Feeds the new rates to the anomaly detectors; returns the anomalies. */
  function detect(c: CostChange): AnomalyRecord[] {
    const out: AnomalyRecord[] = [];
    const scopes: [string, number][] = [
      ['total', c.rateAfter],
      [`group:${c.group}`, zero((groupRate.get(c.group) ?? 0) + c.deltaPerHour)],
    ];
    const next = { ...baselines };
    for (const [scope, r] of scopes) {
      const result = observeRate(baselines[scope], r, c.at, anomalyOptions);
      next[scope] = result.state;
      if (result.anomaly) out.push({ scope, ...result.anomaly, change: c });
    }
    baselines = next;
    return out;
  }

  async function handle(rec: LogRecord): Promise<void> {
    const e = rec.event;
    const at = eventTime(e, rec.appendedAt);
    if (TRIGGER_TYPES.includes(e.type)) {
      triggers.set(e.id, causeRecord(e, at));
      if (triggers.size > TRIGGER_MEMORY) triggers.delete(triggers.keys().next().value!);
      return;
    }
    if (e.type === 'infra.resource.changed' && e.subject?.startsWith('instancegroup/'))
      meta.delete(e.subject.slice('instancegroup/'.length));
    const causes = [];
    if (CAUSE_TYPES.includes(e.type)) {
      causes.push(causeRecord(e, at));
      const trigger = typeof e.causationid === 'string' ? triggers.get(e.causationid) : undefined;
      if (trigger) causes.push(trigger);
    }
    let step: LedgerStep | undefined;
    if (START_TYPES.includes(e.type)) step = await opened(e, at);
    else if (END_TYPES.includes(e.type)) step = ended(e, at);
    if (step === undefined && causes.length === 0) return;
    const anomalies = step?.change ? detect(step.change) : [];
    const state: Record<string, unknown> = { [OFFSET_KEY]: rec.offset + 1 };
    if (step?.change) state[ANOMALY_KEY] = baselines;
    await o.ledger.commit({ ...step, causes, state });
    if (step?.close) track(open.get(step.close.instance)!, -1);
    if (step?.open) track(step.open, 1);
    if (step?.change) settled(step.change, anomalies);
  }

  function settled(c: CostChange, anomalies: readonly AnomalyRecord[]): void {
    publisher.push(changeEvent(c, groupRate.get(c.group) ?? 0));
    for (const a of anomalies) publisher.push(anomalyEvent(a, anomalyOptions));
    for (const l of listeners) {
      try {
        l(c);
      } catch (err) {
        onError(err);
      }
    }
  }

  async function seed(now: number, offset: number): Promise<void> {
    await refreshMeta();
    const groups = await o.groups().catch((err: unknown) => (onError(err), [] as GroupView[]));
    await o.ledger.commit({ state: { [OFFSET_KEY]: offset, 'tracker.since': now } });
    for (const g of groups) {
      for (const i of g.instances) {
        const phase = i.status?.phase;
        if (open.has(i.name) || (phase !== 'starting' && phase !== 'running' && phase !== 'stopping')) continue;
        const e: CloudEvent = {
          specversion: '1.0',
          id: `seed-${now.toString(36)}-${i.name}`,
          source: FINOPS_SOURCE,
          type: 'finops.tracking.started',
          subject: `instance/${i.name}`,
          data: { group: g.name, instanceType: g.instanceType },
        };
        const step = await opened({ ...e, source: `homeostat/provider/${g.provider}` }, i.status?.startedAt ?? now);
        if (!step?.open || !step.change) continue;
        const observed = { ...step.change, kind: 'observed' as const, eventType: e.type };
        await o.ledger.commit({ ...step, change: observed });
        track(step.open, 1);
        settled(observed, []);
      }
    }
  }

  async function run(from: number, signal: AbortSignal): Promise<void> {
    for await (const rec of o.log.follow({ from, types: TRACKED_TYPES, signal })) {
      try {
        await exclusive(() => handle(rec));
      } catch (err) {
        onError(err);
      }
      cursor = rec.offset + 1;
    }
  }

  return {
    async start() {
      for (const i of await o.ledger.openIntervals()) track(i, 1);
      baselines = ((await o.ledger.getState(ANOMALY_KEY)) as Record<string, BaselineState> | undefined) ?? {};
      const stored = (await o.ledger.getState(OFFSET_KEY)) as number | undefined;
      cursor = stored ?? (await o.log.stats()).nextOffset;
      if (stored === undefined) await exclusive(() => seed(o.clock.now(), cursor));
      since = (await o.ledger.getState('tracker.since')) as number | undefined;
      abort = new AbortController();
      loop = run(cursor, abort.signal).catch(onError);
    },
    async sync() {
      const target = (await o.log.stats()).nextOffset;
      for (;;) {
        const next = await o.log.query({ types: TRACKED_TYPES, after: cursor - 1, order: 'asc', limit: 1 });
        if (next.length === 0 || next[0]!.offset >= target) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      await exclusive(async () => undefined);
      await publisher.flush();
    },
    exclusive,
    running: () => [...open.values()],
    trackingSince: () => since,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      abort?.abort();
      await loop;
      await exclusive(async () => undefined);
      await publisher.flush();
    },
  };
}
