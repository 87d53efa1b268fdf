/**
 * @module FinOps wired together: the cost tracker (intervals, changes with attribution,
 * anomalies), budgets, the schedule clock, the cost report, and the policy kinds Budget,
 * IdlePolicy and Schedule. The runtime creates it, hands `kinds` to the policy service, calls
 * `start()` once the log and the infrastructure are up, and serves `report` on GET /v1/cost.
 */
import type { AnomalyOptions } from '../../core/cost/anomaly.js';
import type { Clock } from '../../core/clock.js';
import type { CostLedger } from '../../ports/cost-ledger.js';
import type { EventLog } from '../../ports/event-log.js';
import type { Provider } from '../../ports/provider.js';
import type { InfraControl, Publish } from '../automation/types.js';
import { createBudgetKind } from '../policies/budget.js';
import { idlePolicyKind } from '../policies/idle.js';
import { createScheduleKind } from '../policies/schedule.js';
import type { PolicyKind } from '../policies/types.js';
import { type BudgetStatus, createBudgetRegistry } from './budgets.js';
import { type CostQuery, type CostReport, createCostQueries } from './report.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import { createCostTracker, type CostTracker } from './tracker.js';

export interface FinOpsOptions {
  readonly log: EventLog;
  /** The cost ledger: `createSqliteCostLedger(stateDb)` in the embedded runtime. */
  readonly ledger: CostLedger;
  readonly clock: Clock;
  /** Appends events through ingest (cost.changed, cost.anomaly, budget.threshold.crossed, schedule.fired). */
  readonly publish: Publish;
  /** Groups as they are now: stack, tags and instance type of instances the tracker sees start. */
  readonly infra: Pick<InfraControl, 'groups'>;
  /** Each provider's instance types with their hourly prices, by provider name (Provider.instanceTypes). */
  readonly instanceTypes: Readonly<Record<string, Provider['instanceTypes']>>;
  readonly anomaly?: Partial<AnomalyOptions>;
  /** Budgets are also evaluated this often (the forecast moves with time). Default 60 s; 0 disables the timer. */
  readonly evaluateEveryMs?: number;
  /** Closed intervals, changes and causes older than this are pruned. Default 400 days. */
  readonly retentionMs?: number;
  /** Run the schedule clock's own timer. Default true; tests call `tick` instead. */
  readonly timers?: boolean;
  readonly onError?: (err: unknown) => void;
}

export interface FinOps {
  /** Budget, IdlePolicy and Schedule, for the policy service. */
  readonly kinds: readonly PolicyKind[];
  readonly tracker: CostTracker;
  readonly scheduler: Scheduler;
  /** Starts following the log (resuming from the ledger's offset) and the timers. */
  start(): Promise<void>;
  report(query?: CostQuery): Promise<CostReport>;
  budgets(): Promise<BudgetStatus[]>;
  /** Fires due schedules and evaluates budgets now (what the timers do); for tests with a manual clock. */
  tick(now?: number): Promise<void>;
  /** Resolves when the tracker has processed every event appended before the call. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

const DAY = 86_400_000;

export function createFinOps(o: FinOpsOptions): FinOps {
  const onError = o.onError ?? (() => undefined);
  const price = (provider: string, type: string): number | undefined => o.instanceTypes[provider]?.[type]?.pricePerHour;
  const tracker = createCostTracker({
    log: o.log,
    ledger: o.ledger,
    clock: o.clock,
    publish: o.publish,
    groups: () => o.infra.groups(),
    price,
    ...(o.anomaly === undefined ? {} : { anomaly: o.anomaly }),
    onError,
  });
  const queries = createCostQueries({ tracker, ledger: o.ledger, log: o.log, clock: o.clock });
  const budgets = createBudgetRegistry({ costBy: queries.costBy, ledger: o.ledger, clock: o.clock, onError });
  const scheduler = createScheduler({ clock: o.clock, ledger: o.ledger, publish: o.publish, onError });
  const kinds: PolicyKind[] = [createBudgetKind(budgets), idlePolicyKind, createScheduleKind(scheduler, o.ledger)];
  const retentionMs = o.retentionMs ?? 400 * DAY;
  let timer: NodeJS.Timeout | undefined;
  let lastPrune = 0;
  let unsubscribe: (() => void) | undefined;

  const prune = async (): Promise<void> => {
    lastPrune = o.clock.now();
    await o.ledger.prune(lastPrune - retentionMs);
  };

  return {
    kinds,
    tracker,
    scheduler,
    async start() {
      await prune().catch(onError);
      await tracker.start();
      unsubscribe = tracker.onChange((c) => void budgets.evaluateAll(`cost-${c.eventId}`));
      if (o.timers ?? true) scheduler.start();
      const every = o.evaluateEveryMs ?? 60_000;
      if (every > 0) {
        timer = setInterval(() => {
          void budgets.evaluateAll();
          if (o.clock.now() - lastPrune > DAY) void prune().catch(onError);
        }, every);
        timer.unref();
      }
    },
    report: (query = {}) => queries.report(query, () => budgets.statuses()),
    budgets: () => budgets.statuses(),
    async tick(now) {
      await scheduler.tick(now);
      await budgets.evaluateAll();
    },
    sync: () => tracker.sync(),
    async close() {
      if (timer) clearInterval(timer);
      unsubscribe?.();
      await scheduler.close();
      await tracker.close();
    },
  };
}
