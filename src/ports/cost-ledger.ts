/**
 * @module CostLedger: the durable record behind `homeostat cost`: instance running intervals with
 * their price, every cost change with the event that caused it, the causal events needed to
 * explain those changes, and small JSON state of the FinOps components (tracker offset, anomaly
 * baselines, budget alerts sent, schedule fire times and remembered group sizes).
 *
 * Contract:
 * - `commit` applies one step atomically (all or nothing): an interval opened and/or closed, a
 *   change row, cause rows (insert or ignore by id), state keys. It is durable when it resolves.
 *   Closing an interval that is not open does nothing.
 * - `openIntervals` returns every interval without an end.
 * - `closedCost` sums `price × overlap hours` of *closed* intervals overlapping [from, to), in
 *   scope, by key (see core/cost/integrate.ts `keysOf` for the keys). Open intervals are the
 *   caller's (it keeps them in memory).
 * - Single writer: one FinOps component per database writes it; reads may run at any time.
 * - Errors: HomeostatError E_BACKEND.
 */
import type { CostDimension, CostInterval, CostScope } from '../core/cost/types.js';

/** An interval as stored: the cost interval plus what started and ended it. */
export interface LedgerInterval extends CostInterval {
  /** The event that started it (infra.instance.started / adopted) or a seed id. */
  readonly startEvent: string;
  readonly startCause?: string;
  readonly endEvent?: string;
  readonly endCause?: string;
}

/** What happened to the cost rate, and why. */
export type CostChangeKind = 'started' | 'stopped' | 'crashed' | 'observed';

export interface CostChange {
  readonly at: number;
  readonly kind: CostChangeKind;
  readonly instance: string;
  readonly group: string;
  readonly stack?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly instanceType: string;
  /** + price when an instance starts, − price when it ends. */
  readonly deltaPerHour: number;
  /** The total rate after the change. */
  readonly rateAfter: number;
  /** The event that made the change (an infra.instance.* event, or a seed id). */
  readonly eventId: string;
  readonly eventType: string;
  /** That event's causationid. */
  readonly causeId?: string;
}

/** An event kept because it may explain a cost change (a decision, an action, a trigger). */
export interface CauseRecord {
  readonly id: string;
  readonly type: string;
  readonly subject?: string;
  readonly causationId?: string;
  /** One line for humans, e.g. `action act-x (ScalingPolicy/web scale 2→4)`. */
  readonly summary: string;
  readonly at: number;
}

export interface LedgerStep {
  readonly open?: LedgerInterval;
  readonly close?: {
    readonly instance: string;
    readonly start: number;
    readonly end: number;
    readonly endEvent: string;
    readonly endCause?: string;
  };
  readonly change?: CostChange;
  readonly causes?: readonly CauseRecord[];
  /** JSON values by key; `null` deletes the key. */
  readonly state?: Readonly<Record<string, unknown>>;
}

export interface ClosedCostQuery {
  readonly from: number;
  readonly to: number;
  /** 'total' gives one row with key ''. */
  readonly by: CostDimension | 'total';
  readonly tagKey?: string;
  readonly scope?: CostScope;
}

export interface CostLedger {
  commit(step: LedgerStep): Promise<void>;
  openIntervals(): Promise<LedgerInterval[]>;
  closedCost(query: ClosedCostQuery): Promise<{ key: string; cost: number }[]>;
  /** Newest first. */
  changes(query: {
    readonly since?: number;
    readonly scope?: CostScope;
    readonly limit: number;
  }): Promise<CostChange[]>;
  causes(ids: readonly string[]): Promise<Map<string, CauseRecord>>;
  getState(key: string): Promise<unknown>;
  putState(key: string, value: unknown): Promise<void>;
  /** Removes closed intervals, changes and causes older than `before` (retention). */
  prune(before: number): Promise<{ readonly removed: number }>;
}
