/**
 * @module The rules engine wired from ports: router (log → matcher → jobs), condition runner
 * (rules with `when`), dispatcher (targets, retries, dead letters), the batched state writer,
 * operator actions (redrive, purge, trace), replay and backtest. Runtimes build one and feed it
 * rule changes.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { parsePattern } from '../core/pattern/index.js';
import { CONDITION_FIRED_TYPE, conditionSource, type RuleSpec, type TargetSpec } from '../core/rules/types.js';
import type { ConditionStore } from '../ports/condition-store.js';
import type { DeliveryStore } from '../ports/delivery-store.js';
import type { EventLog } from '../ports/event-log.js';
import type { TargetRegistry } from '../ports/target.js';
import type { EventTracing } from '../telemetry/event-tracing.js';
import { type BacktestOptions, type BacktestReport, runBacktest } from './backtest.js';
import type { DeliveryAdmin } from './delivery-admin.js';
import { createDeliveryAdmin } from './delivery-admin-impl.js';
import { type ConditionRunner, type ConditionRunnerOptions, createConditionRunner } from './conditions.js';
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
  /** How often the router commits its offset. Default 200 ms. */
  readonly commitIntervalMs?: number;
  /**
   * Where the state of rules with `when` is saved so that it survives a restart. Without it the
   * state lives in memory only (a restart starts every condition empty).
   */
  readonly conditionStore?: ConditionStore;
  /** Timings of the condition runner (snapshot interval, timer cap, grace). */
  readonly conditionOptions?: Pick<ConditionRunnerOptions, 'snapshotIntervalMs' | 'maxTickIntervalMs' | 'tickGraceMs'>;
  /** Spans for rule matches and delivery attempts, parented by the events' traceparent. */
  readonly tracing?: EventTracing;
}

export interface Engine {
  readonly router: Router;
  readonly dispatcher: Dispatcher;
  readonly admin: DeliveryAdmin;
  readonly conditions: ConditionRunner;
  /** Feeds a rule change (from the rule service): every rule, enabled or not; undefined = deleted. */
  setRule(name: string, spec: RuleSpec | undefined): void;
  /** Restores pending retries, then starts routing from the committed offset. */
  start(): Promise<void>;
  /**
   * Waits until the router has routed every event on the log now, then runs every condition
   * deadline up to the clock's time (absence, debounce, windows emptying) and waits until the
   * firings are on the log. A timer does the same on its own; tests with a manual clock call this.
   */
  tickConditions(): Promise<void>;
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
    tracing: o.tracing,
  });
  const conditions = createConditionRunner({
    log: o.log,
    store: o.conditionStore,
    clock: o.clock,
    onError: o.onError,
    trace: (entry) => writer.write([{ kind: 'trace', entry }]).catch((err: unknown) => o.onError?.(err)),
    ...o.conditionOptions,
  });
  const router = createRouter({
    log: o.log,
    dispatcher,
    writer,
    store: o.store,
    clock: o.clock,
    onError: o.onError,
    maxBacklog: o.maxBacklog,
    ...(o.commitIntervalMs === undefined ? {} : { commitIntervalMs: o.commitIntervalMs }),
    conditions,
    tracing: o.tracing,
  });
  const admin = createDeliveryAdmin({ store: o.store, writer, dispatcher, clock: o.clock });
  let replays = 0;

  return {
    router,
    dispatcher,
    admin,
    conditions,
    setRule(name, spec) {
      if (spec) rules.set(name, spec);
      else rules.delete(name);
      router.setRule(name, spec);
      conditions.setRule(name, spec);
    },
    async start() {
      await dispatcher.restore(async (offset) =>
        (await o.log.read({ from: offset, limit: 1 })).find((r) => r.offset === offset),
      );
      await router.start();
    },
    async tickConditions() {
      const [last] = await o.log.query({ order: 'desc', limit: 1 });
      if (last) await router.routedPast(last.offset);
      await conditions.tick(o.clock.now());
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
      const replayed = (selected as RuleSpec[]).map(firingsOnly);
      return runReplay({ log: o.log, dispatcher, clock: o.clock, rules: replayed, range, replayId });
    },
    backtest(rule, range, options = {}) {
      return runBacktest({ log: o.log, clock: o.clock, rule, range, ...options });
    },
    async close() {
      await router.close();
      await conditions.close();
      await dispatcher.close();
      await router.finalCommit();
    },
  };
}

/**
 * What a replay delivers for a rule with `when`: its targets receive fired events, not matched
 * ones, so a replay re-delivers the rule's `homeostat.condition.fired` events in the range (the
 * condition is not evaluated again).
 */
function firingsOnly(spec: RuleSpec): RuleSpec {
  if (!spec.when) return spec;
  const match = parsePattern({ type: [CONDITION_FIRED_TYPE], source: [conditionSource(spec.name)] });
  return Object.freeze({ name: spec.name, enabled: spec.enabled, match, targets: spec.targets });
}
