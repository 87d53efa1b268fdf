/**
 * @module What `homeostat cost` and GET /v1/cost show: the cost rate now, cost over a window and
 * month to date, the month's forecast, rollups by group, stack or tag, budgets with their status,
 * recent cost changes with their causes, and recent anomalies. Closed intervals are summed in the
 * ledger; running ones come from the tracker's memory.
 */
import type { Clock } from '../../core/clock.js';
import { forecastCost, periodBounds } from '../../core/cost/forecast.js';
import { inScope, rollup, roundMoney } from '../../core/cost/integrate.js';
import { type CostDimension, type CostScope, MS_PER_HOUR } from '../../core/cost/types.js';
import type { CostLedger } from '../../ports/cost-ledger.js';
import type { EventLog } from '../../ports/event-log.js';
import { type AttributedChange, explain } from './attribution.js';
import type { BudgetStatus, CostBy } from './budgets.js';
import { CostEventType } from './cost-events.js';
import type { CostTracker } from './tracker.js';

export interface CostQuery {
  /** Rows by this dimension. Default 'group'. */
  readonly by?: CostDimension;
  /** With by 'tag': one tag key's values instead of every key=value pair. */
  readonly tag?: string;
  /** Window start for `window.cost` and row costs (ms since epoch). Default: the start of the month (UTC). */
  readonly since?: number;
  /** Only costs in this scope. */
  readonly scope?: CostScope;
  /** How many recent changes to explain. Default 20, at most 500. */
  readonly changes?: number;
}

export interface CostReportRow {
  readonly key: string;
  readonly ratePerHour: number;
  readonly instances: number;
  /** Over the window. */
  readonly cost: number;
  readonly monthToDate: number;
  readonly forecast: number;
}

export interface CostReport {
  readonly at: string;
  readonly currency: 'USD';
  readonly ratePerHour: number;
  readonly instances: number;
  readonly window: { readonly since: string; readonly until: string; readonly cost: number };
  readonly month: { readonly start: string; readonly end: string; readonly toDate: number; readonly forecast: number };
  readonly by: CostDimension;
  readonly rows: readonly CostReportRow[];
  readonly budgets: readonly BudgetStatus[];
  readonly changes: readonly AttributedChange[];
  readonly anomalies: readonly Readonly<Record<string, unknown>>[];
  /** When cost tracking started (ISO), if known: nothing before it is counted. */
  readonly trackingSince?: string;
}

interface Totals {
  cost: number;
  ratePerHour: number;
  instances: number;
}

export interface CostQueries {
  readonly costBy: CostBy;
  report(q: CostQuery, budgets: () => Promise<readonly BudgetStatus[]>): Promise<CostReport>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function createCostQueries(d: {
  readonly tracker: CostTracker;
  readonly ledger: CostLedger;
  readonly log: EventLog;
  readonly clock: Clock;
}): CostQueries {
  const costBy: CostQueries['costBy'] = (q) =>
    d.tracker.exclusive(async () => {
      const out = new Map<string, Totals>();
      for (const r of await d.ledger.closedCost(q)) out.set(r.key, { cost: r.cost, ratePerHour: 0, instances: 0 });
      const running = d.tracker.running().filter((i) => inScope(i, q.scope));
      const open =
        q.by === 'total'
          ? [
              {
                key: '',
                ...rollup(running, { by: 'group', from: q.from, to: q.to, now: q.to }).reduce(sum, zeroTotals()),
              },
            ]
          : rollup(running, { by: q.by, tagKey: q.tagKey, from: q.from, to: q.to, now: q.to });
      for (const r of open) {
        const t = out.get(r.key) ?? zeroTotals();
        out.set(r.key, { cost: t.cost + r.cost, ratePerHour: r.ratePerHour, instances: r.instances });
      }
      return out;
    });

  async function anomalies(): Promise<Record<string, unknown>[]> {
    const records = await d.log.query({ types: [CostEventType.anomaly], order: 'desc', limit: 10 });
    return records.map((r) => ({
      id: r.event.id,
      time: r.event.time,
      subject: r.event.subject,
      ...(r.event.data as object),
    }));
  }

  return {
    costBy,
    async report(q, budgets) {
      const now = d.clock.now();
      const by = q.by ?? 'group';
      const month = periodBounds('month', now);
      const since = Math.min(q.since ?? month.start, now);
      const base = { to: now, scope: q.scope };
      const window = await costBy({ ...base, from: since, by, tagKey: q.tag });
      const mtd = since === month.start ? window : await costBy({ ...base, from: month.start, by, tagKey: q.tag });
      const left = Math.max(0, month.end - now) / MS_PER_HOUR;
      const rows = [...new Set([...window.keys(), ...mtd.keys()])].map((key) => {
        const w = window.get(key) ?? zeroTotals();
        const m = mtd.get(key) ?? zeroTotals();
        return {
          key,
          ratePerHour: roundMoney(w.ratePerHour),
          instances: w.instances,
          cost: roundMoney(w.cost),
          monthToDate: roundMoney(m.cost),
          forecast: roundMoney(m.cost + w.ratePerHour * left),
        };
      });
      rows.sort((a, b) => b.monthToDate - a.monthToDate || b.ratePerHour - a.ratePerHour || (a.key < b.key ? -1 : 1));
      const total = [...window.values()].reduce(sum, zeroTotals());
      const totalOpen = d.tracker.running().filter((i) => inScope(i, q.scope));
      const ratePerHour = totalOpen.reduce((s, i) => s + i.pricePerHour, 0);
      const windowCost =
        by === 'tag' ? ((await costBy({ ...base, from: since, by: 'total' })).get('')?.cost ?? 0) : total.cost;
      const monthCost =
        since === month.start
          ? windowCost
          : ((await costBy({ ...base, from: month.start, by: 'total' })).get('')?.cost ?? 0);
      const limit = Math.min(Math.max(q.changes ?? 20, 0), 500);
      const changes = limit === 0 ? [] : await explain(d.ledger, await d.ledger.changes({ limit, scope: q.scope }));
      const trackingSince = d.tracker.trackingSince();
      return {
        at: iso(now),
        currency: 'USD',
        ratePerHour: roundMoney(ratePerHour),
        instances: totalOpen.length,
        window: { since: iso(since), until: iso(now), cost: roundMoney(windowCost) },
        month: {
          start: iso(month.start),
          end: iso(month.end),
          toDate: roundMoney(monthCost),
          forecast: roundMoney(forecastCost(monthCost, ratePerHour, now, month.end)),
        },
        by,
        rows,
        budgets: await budgets(),
        changes,
        anomalies: await anomalies(),
        ...(trackingSince === undefined ? {} : { trackingSince: iso(trackingSince) }),
      };
    },
  };
}

function zeroTotals(): Totals {
  return { cost: 0, ratePerHour: 0, instances: 0 };
}

function sum(a: Totals, b: Totals): Totals {
  return { cost: a.cost + b.cost, ratePerHour: a.ratePerHour + b.ratePerHour, instances: a.instances + b.instances };
}
