/**
 * @module The rules engine wired from ports: router (log → matcher → jobs), dispatcher (targets,
 * retries, dead letters), the batched state writer, operator actions (redrive, purge, trace),
 * replay and backtest. Runtimes build one and feed it rule changes.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { RuleSpec, TargetSpec } from '../core/rules/types.js';
import type { DeliveryStore } from '../ports/delivery-store.js';
import type { EventLog } from '../ports/event-log.js';
import type { TargetRegistry } from '../ports/target.js';
import { type BacktestOptions, type BacktestReport, runBacktest } from './backtest.js';
import type { DeliveryAdmin } from './delivery-admin.js';
import { createDeliveryAdmin } from './delivery-admin-impl.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import type { LogRange } from './log-range.js';
import { type ReplayReport, runReplay } from './replay.js';
import { createRouter, type Router } from './router.js';
import { createStateWriter } from './state-writer.js';

export interface EngineOptions {
  readonly log: EventLog;
  readonly store: DeliveryStore;
  readonly targets: TargetRegistry;
  readonly clock: Clock;
  readonly onError?: (err: unknown) => void;
  /** Router backlog limit (jobs). Default 20,000. */
  readonly maxBacklog?: number;
}

export interface Engine {
  readonly router: Router;
  readonly dispatcher: Dispatcher;
  readonly admin: DeliveryAdmin;
  /** Feeds a rule change (from the rule service): every rule, enabled or not; undefined = deleted. */
  setRule(name: string, spec: RuleSpec | undefined): void;
  /** Restores pending retries, then starts routing from the committed offset. */
  start(): Promise<void>;
  replay(range: LogRange, rule?: string): Promise<ReplayReport>;
  backtest(
    rule: RuleSpec,
    range: LogRange,
    options?: Pick<BacktestOptions, 'samples' | 'onProgress' | 'signal'>,
  ): Promise<BacktestReport>;
  close(): Promise<void>;
}

export function createEngine(o: EngineOptions): Engine {
  const rules = new Map<string, RuleSpec>();
  const lookup = (rule: string, target: string): TargetSpec | undefined =>
    rules.get(rule)?.targets.find((t) => t.id === target);
  const writer = createStateWriter(o.store);
  const dispatcher = createDispatcher({
    store: o.store,
    writer,
    targets: o.targets,
    clock: o.clock,
    lookup,
    onError: o.onError,
  });
  const router = createRouter({
    log: o.log,
    dispatcher,
    writer,
    store: o.store,
    clock: o.clock,
    onError: o.onError,
    maxBacklog: o.maxBacklog,
  });
  const admin = createDeliveryAdmin({ store: o.store, writer, dispatcher, clock: o.clock });
  let replays = 0;

  return {
    router,
    dispatcher,
    admin,
    setRule(name, spec) {
      if (spec) rules.set(name, spec);
      else rules.delete(name);
      router.setRule(name, spec);
    },
    async start() {
      await dispatcher.restore(async (offset) =>
        (await o.log.read({ from: offset, limit: 1 })).find((r) => r.offset === offset),
      );
      await router.start();
    },
    async replay(range, rule) {
      const selected = rule === undefined ? [...rules.values()].filter((r) => r.enabled) : [rules.get(rule)];
      if (selected.some((r) => r === undefined)) {
        throw new HomeostatError(
          ErrorCode.NOT_FOUND,
          `no rule named '${rule}'; list the rules with \`homeostat get rules\``,
        );
      }
      const replayId = `${o.clock.now().toString(36)}-${(replays++).toString(36)}`;
      return runReplay({ log: o.log, dispatcher, clock: o.clock, rules: selected as RuleSpec[], range, replayId });
    },
    backtest(rule, range, options = {}) {
      return runBacktest({ log: o.log, clock: o.clock, rule, range, ...options });
    },
    async close() {
      await router.close();
      await dispatcher.close();
      await router.finalCommit();
    },
  };
}
