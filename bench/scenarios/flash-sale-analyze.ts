/**
 * @module Figures of one flash-sale run from the log's events and the client's request records:
 * rise → scale decision → new instances ready → first request a new instance answered; errors and
 * latency before, during and at the peak; the scale-in after the drop.
 */
import type { RequestRecord } from './load.js';
import {
  descendants,
  directionOf,
  FLASH_GROUP,
  instanceName,
  type LoggedEvent,
  paramsOf,
  scaleActions,
} from './flash-sale-server.js';

/** The run's schedule, epoch ms on this machine's clock. */
export interface RunTimes {
  readonly run: number;
  readonly baseFrom: number;
  readonly riseAt: number;
  readonly peakAt: number;
  readonly dropAt: number;
}

export interface WindowStats {
  readonly requests: number;
  readonly failures: number;
  readonly errorRate: number;
  readonly p50: number;
  readonly p99: number;
}

export interface ScaleStep {
  readonly action: LoggedEvent;
  readonly from: number;
  readonly to: number;
  /** The metrics event it was decided on (its causationid), when found on the log. */
  readonly metrics: LoggedEvent | undefined;
  /** `infra.instance.started` events in the action's causal chain. */
  readonly started: readonly LoggedEvent[];
  /** `infra.instance.ready` of those instances (first per instance). */
  readonly ready: readonly LoggedEvent[];
  /** Of `ready`, those whose causation chain leads back to the action. */
  readonly readyCausedByAction: number;
}

export interface FlashFigures {
  readonly times: RunTimes;
  /** The last metrics event before the rise (what the group looked like). */
  readonly before: LoggedEvent | undefined;
  readonly out: ScaleStep | undefined;
  /** Every scale-out executed from the rise to the drop. */
  readonly outs: readonly ScaleStep[];
  /** ms after the rise. */
  readonly decidedMs: number | undefined;
  readonly decisionOnLogMs: number | undefined;
  readonly firstReadyMs: number | undefined;
  readonly allReadyMs: number | undefined;
  /** Every instance of every scale-out from the rise to the drop ready: the capacity the peak settled at, ms after the rise. */
  readonly settledMs: number | undefined;
  /** The size the last scale-out before the drop asked for. */
  readonly peakSize: number | undefined;
  /** The first request answered (2xx) by an instance the first scale-out started: its end, ms after the rise. */
  readonly firstServedMs: number | undefined;
  readonly firstServedBy: string | undefined;
  /** Share of the peak's requests (after all new instances were ready) answered by new instances. */
  readonly peakShareOnNew: number | undefined;
  readonly windows: { readonly before: WindowStats; readonly rise: WindowStats; readonly peak: WindowStats };
  readonly scaleIn: ScaleStep | undefined;
  /** ms after the drop. */
  readonly scaleInMs: number | undefined;
  /** Instances at the end of the run (the last metrics event). */
  readonly endInstances: number | undefined;
}

function stats(records: readonly RequestRecord[]): WindowStats {
  const failures = records.filter((r) => r.outcome !== 'ok').length;
  const lat = records.map((r) => r.endedAt - r.sentAt).sort((a, b) => a - b);
  const pick = (p: number) =>
    lat.length === 0 ? Number.NaN : lat[Math.max(1, Math.ceil((p / 100) * lat.length)) - 1]!;
  return {
    requests: records.length,
    failures,
    errorRate: records.length === 0 ? 0 : failures / records.length,
    p50: pick(50),
    p99: pick(99),
  };
}

function step(events: readonly LoggedEvent[], action: LoggedEvent): ScaleStep {
  const chain = descendants(events, action.id);
  const started = chain.filter((e) => e.type === 'infra.instance.started');
  const names = new Set(started.map((e) => e.subject));
  const chainIds = new Set(chain.map((e) => e.id));
  const ready: LoggedEvent[] = [];
  for (const name of names) {
    const r = events.find((e) => e.type === 'infra.instance.ready' && e.subject === name);
    if (r) ready.push(r);
  }
  const { from, to } = paramsOf(action);
  return {
    action,
    from,
    to,
    metrics: events.find((e) => e.id === action.causationid && e.type === 'infra.metrics'),
    started,
    ready,
    readyCausedByAction: ready.filter((r) => chainIds.has(r.id)).length,
  };
}

/** When the last instance a scale-out started was ready; undefined until every one is. */
function allOf(s: ScaleStep): number | undefined {
  return s.ready.length === s.started.length && s.ready.length > 0
    ? Math.max(...s.ready.map((r) => r.time))
    : undefined;
}

export function flashFigures(
  t: RunTimes,
  events: readonly LoggedEvent[],
  records: readonly RequestRecord[],
): FlashFigures {
  const actions = scaleActions(events);
  const outs = actions
    .filter((a) => directionOf(a) === 'up' && a.time >= t.riseAt && a.time < t.dropAt)
    .map((a) => step(events, a));
  const out = outs[0];
  const groupMetrics = events.filter((e) => e.type === 'infra.metrics' && e.subject === `instancegroup/${FLASH_GROUP}`);
  const before = groupMetrics.filter((e) => e.time < t.riseAt).at(-1);
  const since = (at: number | undefined) => (at === undefined ? undefined : at - t.riseAt);
  const readyTimes = out?.ready.map((r) => r.time) ?? [];
  const allReady = out && allOf(out);
  const newNames = new Set(out?.started.map((e) => instanceName(e.subject)) ?? []);
  const served = records
    .filter((r) => r.outcome === 'ok' && r.instance !== undefined && newNames.has(r.instance) && r.sentAt >= t.riseAt)
    .sort((a, b) => a.endedAt - b.endedAt)[0];
  const each = outs.map(allOf);
  const settledAt = each.length > 0 && each.every((v) => v !== undefined) ? Math.max(...(each as number[])) : undefined;
  const settled = settledAt ?? allReady ?? t.peakAt;
  const sent = (from: number, to: number) => records.filter((r) => r.sentAt >= from && r.sentAt < to);
  const peakRecords = sent(settled, t.dropAt);
  const scaleInAction = actions.find((a) => directionOf(a) === 'down' && a.time >= t.dropAt);
  return {
    times: t,
    before,
    out,
    outs,
    decidedMs: since(out?.action.time),
    decisionOnLogMs: since(out?.action.appendedAt),
    firstReadyMs: readyTimes.length === 0 ? undefined : Math.min(...readyTimes) - t.riseAt,
    allReadyMs: since(allReady),
    settledMs: since(settledAt),
    peakSize: outs.at(-1)?.to,
    firstServedMs: since(served?.endedAt),
    firstServedBy: served?.instance,
    peakShareOnNew:
      peakRecords.length === 0
        ? undefined
        : peakRecords.filter((r) => r.instance !== undefined && newNames.has(r.instance)).length / peakRecords.length,
    windows: {
      before: stats(sent(t.baseFrom, t.riseAt)),
      rise: stats(sent(t.riseAt, settled)),
      peak: stats(peakRecords),
    },
    scaleIn: scaleInAction && step(events, scaleInAction),
    scaleInMs: scaleInAction && scaleInAction.time - t.dropAt,
    endInstances: groupMetrics.at(-1) && Number(groupMetrics.at(-1)!.data.instances),
  };
}

/** The arithmetic the action recorded, as one line (inputs named as docs/SCALING.md names them). */
export function arithmetic(action: LoggedEvent): string {
  const i = (action.data.inputs ?? {}) as Record<string, unknown>;
  const parts = [
    `value ${fmt(i.value)} (${String(i.derived ?? i.metric)} = ${fmt(i.total)} / ${fmt(i.instances)})`,
    `target ${fmt(i.target)}`,
    `ratio ${fmt(i.ratio)}`,
    `raw ${fmt(i.raw)}`,
    `afterTolerance ${fmt(i.afterTolerance)}`,
    `afterStabilization ${fmt(i.afterStabilization)}`,
    `afterCooldown ${fmt(i.afterCooldown)}`,
    `afterMaxStep ${fmt(i.afterMaxStep)}`,
    `afterMinMax ${fmt(i.afterMinMax)}`,
    `desired ${fmt(i.desired)}`,
  ];
  return parts.join(', ');
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return v === undefined ? '—' : String(v);
}
