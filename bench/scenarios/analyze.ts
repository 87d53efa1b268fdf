/**
 * @module Figures from a fault's timeline and the client's request records: the recovery times
 * from the events, and what the client saw while it lasted.
 */
import type { FaultKind, FaultTimeline } from './fault.js';
import type { Outcome, RequestRecord } from './load.js';
import type { HealingMode } from './options.js';

/** One fault, measured. Times are ms after the fault (the client's clock before kill or hang). */
export interface FaultFigures {
  readonly mode: HealingMode;
  readonly kind: FaultKind;
  readonly run: number;
  readonly victim: string;
  readonly replacement: string;
  /** Detection event's `time` (the provider saw the exit, or the last failed check) − fault. */
  readonly detectedMs: number;
  /** Detection event durable on the log (where rules see it) − fault. */
  readonly onLogMs: number;
  /** heal: the replace action's `time` (when the gate let it run); none: the reconciler's decision. */
  readonly decidedMs: number;
  readonly startedMs: number;
  /** The replacement's `infra.instance.ready` − fault. */
  readonly readyMs: number;
  /** Requests that ended at or after the fault and were sent before the replacement was ready. */
  readonly windowRequests: number;
  readonly windowFailures: number;
  readonly failuresByOutcome: Readonly<Partial<Record<Outcome, number>>>;
  /** Of the window's failures, those the balancer had sent to the victim. */
  readonly failuresAtVictim: number;
  /** Requests sent after the detection event that the victim answered or the balancer sent to it (expected 0). */
  readonly routedToVictimAfterDetection: number;
  /** Failed requests sent after the detection event (whatever the target). */
  readonly failedAfterDetection: number;
  /** The longest a failed request of the window waited for its answer, ms. */
  readonly longestFailedWaitMs: number;
  /** When the window's last failed request ended, ms after the fault; undefined without failures. */
  readonly lastFailureMs: number | undefined;
  readonly sampleFailure: string | undefined;
  /** heal: `homeostat.incident.opened` on the log − fault. */
  readonly incidentOpenedMs?: number;
  /** heal: `homeostat.incident.resolved` (its `time`) − fault. */
  readonly incidentResolvedMs?: number;
  /** heal: the incident's own figures (from the failure event's time): toActionMs, toVerifiedMs, toResolvedMs. */
  readonly incidentDetails?: Readonly<Record<string, unknown>>;
}

export interface Overall {
  readonly requests: number;
  readonly failures: number;
  readonly failuresByOutcome: Readonly<Partial<Record<Outcome, number>>>;
  /** Failures outside every fault's window (expected 0: steady state, apply, settle). */
  readonly failuresOutsideWindows: number;
  readonly seconds: number;
}

function countBy(records: readonly RequestRecord[]): Partial<Record<Outcome, number>> {
  const out: Partial<Record<Outcome, number>> = {};
  for (const r of records) out[r.outcome] = (out[r.outcome] ?? 0) + 1;
  return out;
}

const inWindow = (r: RequestRecord, t: FaultTimeline): boolean => r.endedAt >= t.faultAt && r.sentAt <= t.ready.time;

export function figures(t: FaultTimeline, records: readonly RequestRecord[]): FaultFigures {
  const window = records.filter((r) => inWindow(r, t));
  const failed = window.filter((r) => r.outcome !== 'ok');
  const detectedAt = t.detection.time;
  const afterDetection = records.filter((r) => r.sentAt > detectedAt && r.sentAt <= t.ready.time);
  const lastFailure = failed.length === 0 ? undefined : Math.max(...failed.map((r) => r.endedAt)) - t.faultAt;
  return {
    mode: t.mode,
    kind: t.kind,
    run: t.run,
    victim: t.victim,
    replacement: t.started.subject.replace(/^instance\//, ''),
    detectedMs: detectedAt - t.faultAt,
    onLogMs: t.detection.appendedAt - t.faultAt,
    decidedMs: t.decision.time - t.faultAt,
    startedMs: t.started.time - t.faultAt,
    readyMs: t.ready.time - t.faultAt,
    windowRequests: window.length,
    windowFailures: failed.length,
    failuresByOutcome: countBy(failed),
    failuresAtVictim: failed.filter((r) => r.instance === t.victim).length,
    routedToVictimAfterDetection: afterDetection.filter((r) => r.instance === t.victim).length,
    failedAfterDetection: afterDetection.filter((r) => r.outcome !== 'ok').length,
    longestFailedWaitMs: failed.reduce((m, r) => Math.max(m, r.endedAt - r.sentAt), 0),
    lastFailureMs: lastFailure,
    sampleFailure: failed[0] ? `${failed[0].outcome}: ${failed[0].detail ?? ''}`.trim() : undefined,
    ...(t.incident === undefined
      ? {}
      : {
          incidentOpenedMs: t.incident.opened.appendedAt - t.faultAt,
          incidentResolvedMs: t.incident.resolved.time - t.faultAt,
          incidentDetails: t.incident.view.details,
        }),
  };
}

export function overall(records: readonly RequestRecord[], timelines: readonly FaultTimeline[]): Overall {
  const failed = records.filter((r) => r.outcome !== 'ok');
  const first = Math.min(...records.map((r) => r.sentAt));
  const last = Math.max(...records.map((r) => r.endedAt));
  return {
    requests: records.length,
    failures: failed.length,
    failuresByOutcome: countBy(failed),
    failuresOutsideWindows: failed.filter((r) => !timelines.some((t) => inWindow(r, t))).length,
    seconds: records.length === 0 ? 0 : (last - first) / 1000,
  };
}

/** Median (the mean of the middle two for an even count) and maximum. */
export function medianMax(values: readonly number[]): { median: number; max: number } {
  if (values.length === 0) return { median: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, max: sorted[sorted.length - 1]! };
}
