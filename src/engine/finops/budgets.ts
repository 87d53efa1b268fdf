/**
 * @module Budget evaluation: spend so far in the budget's period and scope, the linear forecast to
 * the period's end, and its thresholds (on actual spend or on the forecast). A threshold crossed
 * for the first time in a period is published once as `budget.threshold.crossed` (the alerts sent
 * are kept in the ledger, so a restart does not repeat them). Budgets are evaluated after each
 * cost change and periodically (the forecast moves with time even when nothing changes).
 */
import type { Clock } from '../../core/clock.js';
import { forecastCost, periodBounds } from '../../core/cost/forecast.js';
import { roundMoney } from '../../core/cost/integrate.js';
import type { CostDimension, CostPeriod, CostScope } from '../../core/cost/types.js';
import type { CostLedger } from '../../ports/cost-ledger.js';
import type { Publish } from '../automation/types.js';
import type { PolicyBase } from '../policies/types.js';
import { budgetEvent } from './cost-events.js';
import { describeScope } from './manifest.js';

export interface BudgetThreshold {
  readonly kind: 'actual' | 'forecast';
  /** Percent of the amount. */
  readonly percent: number;
}

/** A parsed `kind: Budget`. */
export interface BudgetSpec extends PolicyBase {
  readonly kind: 'Budget';
  readonly scope: CostScope;
  readonly amount: number;
  readonly period: CostPeriod;
  readonly thresholds: readonly BudgetThreshold[];
  readonly notify?: { readonly url: string };
}

export type BudgetState = 'ok' | 'warning' | 'forecast-exceeded' | 'exceeded';

export interface BudgetStatus {
  readonly budget: string;
  readonly scope: string;
  readonly period: { readonly name: CostPeriod; readonly start: string; readonly end: string };
  readonly amount: number;
  readonly spent: number;
  readonly forecast: number;
  readonly ratePerHour: number;
  readonly status: BudgetState;
  readonly thresholds: readonly {
    readonly kind: 'actual' | 'forecast';
    readonly percent: number;
    readonly value: number;
    readonly crossed: boolean;
    /** When the alert for this period was published. */
    readonly alertedAt?: string;
  }[];
  readonly evaluatedAt: string;
}

export interface BudgetHandle {
  /** Evaluates now and publishes newly crossed thresholds; `cause` names the cost change that prompted it. */
  evaluate(cause?: string): Promise<BudgetStatus>;
  /** The last evaluation, if any. */
  last(): BudgetStatus | undefined;
  remove(): void;
}

export interface BudgetRegistry {
  add(spec: BudgetSpec, publish: Publish): BudgetHandle;
  evaluateAll(cause?: string): Promise<void>;
  statuses(): Promise<BudgetStatus[]>;
}

/** Cost over [from, to) plus the rate and instance count now, by key ('' for total); see report.ts. */
export type CostBy = (q: {
  from: number;
  to: number;
  by: CostDimension | 'total';
  tagKey?: string;
  scope?: CostScope;
}) => Promise<Map<string, { cost: number; ratePerHour: number; instances: number }>>;

const iso = (ms: number): string => new Date(ms).toISOString();
const thresholdId = (t: BudgetThreshold): string => `${t.kind}-${t.percent}`;

export function createBudgetRegistry(d: {
  readonly costBy: CostBy;
  readonly ledger: CostLedger;
  readonly clock: Clock;
  readonly onError?: (err: unknown) => void;
}): BudgetRegistry {
  const handles = new Map<string, BudgetHandle>();

  async function evaluate(spec: BudgetSpec, publish: Publish, cause: string | undefined): Promise<BudgetStatus> {
    const now = d.clock.now();
    const { start, end } = periodBounds(spec.period, now);
    const totals = (await d.costBy({ from: start, to: now, by: 'total', scope: spec.scope })).get('');
    const spent = totals?.cost ?? 0;
    const rate = totals?.ratePerHour ?? 0;
    const forecast = forecastCost(spent, rate, now, end);
    const key = `budget/${spec.name}/${iso(start)}`;
    const alerted = { ...((await d.ledger.getState(key)) as Record<string, number> | undefined) };
    const thresholds = [];
    for (const t of spec.thresholds) {
      const value = (spec.amount * t.percent) / 100;
      const crossed = (t.kind === 'actual' ? spent : forecast) >= value;
      const id = thresholdId(t);
      if (crossed && alerted[id] === undefined) {
        await publish([
          budgetEvent({
            budget: spec.name,
            periodStart: start,
            periodEnd: end,
            threshold: t,
            amount: spec.amount,
            spent,
            forecast,
            ratePerHour: rate,
            at: now,
            scope: spec.scope,
            ...(cause === undefined ? {} : { cause }),
          }),
        ]);
        alerted[id] = now;
        await d.ledger.putState(key, alerted);
      }
      const at = alerted[id];
      thresholds.push({ ...t, value: roundMoney(value), crossed, ...(at === undefined ? {} : { alertedAt: iso(at) }) });
    }
    const status: BudgetState =
      spent >= spec.amount
        ? 'exceeded'
        : forecast >= spec.amount
          ? 'forecast-exceeded'
          : thresholds.some((t) => t.crossed)
            ? 'warning'
            : 'ok';
    return {
      budget: spec.name,
      scope: describeScope(spec.scope),
      period: { name: spec.period, start: iso(start), end: iso(end) },
      amount: spec.amount,
      spent: roundMoney(spent),
      forecast: roundMoney(forecast),
      ratePerHour: roundMoney(rate),
      status,
      thresholds,
      evaluatedAt: iso(now),
    };
  }

  return {
    add(spec, publish) {
      let last: BudgetStatus | undefined;
      // One evaluation at a time; requests while one waits to start share it (coalesced).
      let tail: Promise<unknown> = Promise.resolve();
      let queued: Promise<BudgetStatus> | undefined;
      const run = (cause: string | undefined): Promise<BudgetStatus> => {
        if (queued) return queued;
        const next = tail
          .then(() => {
            queued = undefined;
            return evaluate(spec, publish, cause);
          })
          .then((s) => (last = s));
        queued = next;
        tail = next.catch(() => undefined);
        return next;
      };
      const handle: BudgetHandle = {
        evaluate: run,
        last: () => last,
        remove: () => {
          if (handles.get(spec.name) === handle) handles.delete(spec.name);
        },
      };
      handles.set(spec.name, handle);
      return handle;
    },
    async evaluateAll(cause) {
      for (const h of [...handles.values()]) {
        try {
          await h.evaluate(cause);
        } catch (err) {
          d.onError?.(err);
        }
      }
    },
    async statuses() {
      const out: BudgetStatus[] = [];
      for (const h of [...handles.values()]) {
        try {
          out.push(await h.evaluate());
        } catch (err) {
          d.onError?.(err);
          const last = h.last();
          if (last) out.push(last);
        }
      }
      return out.sort((a, b) => (a.budget < b.budget ? -1 : 1));
    },
  };
}
