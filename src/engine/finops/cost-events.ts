/**
 * @module The events FinOps publishes: `cost.changed` (one per instance start or stop, caused by
 * that infra event), `cost.anomaly` (a rate jump, caused by the change that made it) and
 * `budget.threshold.crossed`. Ids are derived from what they describe, so a re-publication after
 * a restart is a duplicate the log suppresses.
 */
import type { Anomaly, AnomalyOptions } from '../../core/cost/anomaly.js';
import { roundMoney } from '../../core/cost/integrate.js';
import type { CostScope } from '../../core/cost/types.js';
import type { CloudEvent } from '../../core/event.js';
import type { CostChange } from '../../ports/cost-ledger.js';

export const FINOPS_SOURCE = 'homeostat/finops';

export const CostEventType = {
  changed: 'cost.changed',
  anomaly: 'cost.anomaly',
  budgetCrossed: 'budget.threshold.crossed',
} as const;

/** An anomaly of one scope (`total` or `group:<name>`) with the change that made it. */
export interface AnomalyRecord extends Anomaly {
  readonly scope: string;
  readonly change: CostChange;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function base(id: string, type: string, subject: string, at: number, cause: string): CloudEvent {
  return {
    specversion: '1.0',
    id,
    source: FINOPS_SOURCE,
    type,
    subject,
    time: iso(at),
    datacontenttype: 'application/json',
    partitionkey: subject,
    causationid: cause,
  };
}

export function changeEvent(c: CostChange, groupRatePerHour: number): CloudEvent {
  return {
    ...base(`cost-${c.eventId}`, CostEventType.changed, `instancegroup/${c.group}`, c.at, c.eventId),
    data: {
      instance: c.instance,
      group: c.group,
      ...(c.stack === undefined ? {} : { stack: c.stack }),
      tags: c.tags,
      kind: c.kind,
      instanceType: c.instanceType,
      deltaPerHour: roundMoney(c.deltaPerHour),
      ratePerHour: roundMoney(c.rateAfter),
      groupRatePerHour: roundMoney(groupRatePerHour),
      cause: c.eventId,
    },
  };
}

export function anomalyEvent(a: AnomalyRecord, options: AnomalyOptions): CloudEvent {
  const group = a.scope.startsWith('group:') ? a.scope.slice('group:'.length) : undefined;
  const subject = group === undefined ? 'cost/total' : `instancegroup/${group}`;
  return {
    ...base(
      `cost-anomaly-${a.scope}-${a.change.eventId}`,
      CostEventType.anomaly,
      subject,
      a.change.at,
      a.change.eventId,
    ),
    data: {
      scope: group === undefined ? 'total' : 'group',
      ...(group === undefined ? {} : { group }),
      ratePerHour: roundMoney(a.ratePerHour),
      baselinePerHour: roundMoney(a.baselinePerHour),
      factor: Number.isFinite(a.factor) ? Math.round(a.factor * 100) / 100 : null,
      jumpPerHour: roundMoney(a.jumpPerHour),
      rule: {
        factor: options.factor,
        floorPerHour: options.floorPerHour,
        halfLifeMs: options.halfLifeMs,
      },
      change: {
        instance: a.change.instance,
        kind: a.change.kind,
        deltaPerHour: roundMoney(a.change.deltaPerHour),
        event: a.change.eventId,
      },
    },
  };
}

export interface BudgetCrossing {
  readonly budget: string;
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly threshold: { readonly kind: 'actual' | 'forecast'; readonly percent: number };
  readonly amount: number;
  readonly spent: number;
  readonly forecast: number;
  readonly ratePerHour: number;
  readonly at: number;
  readonly scope: CostScope;
  /** The cost change being evaluated when it crossed, if any. */
  readonly cause?: string;
}

/** One per budget, period and threshold: the id says which. */
export function budgetEvent(b: BudgetCrossing): CloudEvent {
  const id = `budget-${b.budget}-${iso(b.periodStart)}-${b.threshold.kind}-${b.threshold.percent}`;
  const event = base(id, CostEventType.budgetCrossed, `budget/${b.budget}`, b.at, b.cause ?? '');
  if (b.cause === undefined) delete (event as { causationid?: string }).causationid;
  return {
    ...event,
    data: {
      budget: b.budget,
      scope: b.scope,
      period: { start: iso(b.periodStart), end: iso(b.periodEnd) },
      threshold: { ...b.threshold, value: roundMoney((b.amount * b.threshold.percent) / 100) },
      amount: b.amount,
      spent: roundMoney(b.spent),
      forecast: roundMoney(b.forecast),
      ratePerHour: roundMoney(b.ratePerHour),
    },
  };
}
