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
import type { DeliveryKey, DeliveryStore } from '../ports/delivery-store.js';
import type { EventLog } from '../ports/event-log.js';
import type { TargetRegistry } from '../ports/target.js';
import type { EventTracing } from '../telemetry/event-tracing.js';
import { type BacktestOptions, type BacktestReport, runBacktest } from './backtest.js';
import type { DeliveryAdmin } from './delivery-admin.js';
import { createDeliveryAdmin } from './delivery-admin-impl.js';
import { type ConditionRunner, type ConditionRunnerOptions, createConditionRunner } from './conditions.js';
import { createDispatcher, type DeliveryCounts, type Dispatcher, targetOfKey } from './dispatcher.js';
import type { LogRange } from './log-range.js';
import { type ReplayReport, runReplay } from './replay.js';
import { createRouter, ROUTER_CONSUMER, type Router } from './router.js';
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
  /**
   * Several nodes share the work (docs/DEPLOYMENT.md): the engine is not `start`ed; the node calls
   * `startPartition`/`stopPartition` for the partitions it owns and `startLeader` when it leads.
   * `placement` says where a target's deliveries run (see Target.placement).
   */
  readonly cluster?: { readonly placement: (target: TargetSpec) => 'partition' | 'leader' };
}

/** The consumer (committed offset) of the router of partition `p` in a cluster. */
export const partitionConsumer = (p: number): string => `router.p${p}`;
/** The consumer of the leader's router in a cluster (conditions and leader-placed targets). */
export const LEADER_CONSUMER = 'router.leader';

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
   * Cluster: routes partition `p`'s events to partition-placed targets (its own router, consumer
   * `router.p<p>`, and dispatcher), after restoring its pending retries. Idempotent.
   */
  startPartition(p: number): Promise<void>;
  /**
   * Cluster: stops routing partition `p`: its router stops reading, attempts under way end (run
   * to their end with `drain`, else aborted), and what is safe is committed, so the next owner
   * resumes where this one stopped. Idempotent.
   */
  stopPartition(p: number, options?: { readonly drain?: boolean }): Promise<void>;
  /** Cluster: partitions routed here now. */
  partitions(): number[];
  /**
   * Cluster: this node leads: runs the conditions of rules with `when` and delivers to
   * leader-placed targets (the main router, consumer `router.leader`, over every partition).
   */
  startLeader(): Promise<void>;
  /** Read positions of the routers that read every partition, by consumer (for lag). */
  positions(): Record<string, number>;
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
  // Every router and dispatcher of this engine counts into one set of stats (/metrics).
  const deliveryStats = new Map<string, DeliveryCounts>();
  const routerStats = { routed: 0, matched: 0, byRule: new Map<string, number>() };
  const newDispatcher = (): Dispatcher =>
    createDispatcher({
      store: o.store,
      writer,
      targets: o.targets,
      clock: o.clock,
      lookup,
      onError: o.onError,
      tracing: o.tracing,
      stats: deliveryStats,
    });
  const dispatcher = newDispatcher();
  const placement = o.cluster?.placement;
  const placed = (where: 'partition' | 'leader') => (target: TargetSpec) => placement!(target) === where;
  const conditions = createConditionRunner({
    log: o.log,
    store: o.conditionStore,
    clock: o.clock,
    onError: o.onError,
    trace: (entry) => writer.write([{ kind: 'trace', entry }]).catch((err: unknown) => o.onError?.(err)),
    ...o.conditionOptions,
  });
  // What every router of this engine shares (the main one, and one per partition in a cluster).
  const routerBase = {
    log: o.log,
    writer,
    store: o.store,
    clock: o.clock,
    onError: o.onError,
    maxBacklog: o.maxBacklog,
    ...(o.commitIntervalMs === undefined ? {} : { commitIntervalMs: o.commitIntervalMs }),
    tracing: o.tracing,
    stats: routerStats,
  };
  const router = createRouter({
    ...routerBase,
    dispatcher,
    conditions,
    ...(placement ? { consumer: LEADER_CONSUMER, deliverTo: placed('leader') } : {}),
  });
  const readAt = async (offset: number) =>
    (await o.log.read({ from: offset, limit: 1 })).find((r) => r.offset === offset);
  const isPlaced = (where: 'partition' | 'leader', key: DeliveryKey): boolean => {
    const spec = lookup(key.rule, targetOfKey(key.target));
    return spec !== undefined && placed(where)(spec);
  };

  interface Slot {
    readonly router: Router & { finalCommit(): Promise<void> };
    readonly dispatcher: Dispatcher;
    readonly ready: Promise<void>;
  }
  const slots = new Map<number, Slot>();
  let leading = false;

  function requireCluster(what: string): void {
    if (!placement) {
      throw new HomeostatError(ErrorCode.INTERNAL, `${what} needs an engine created with the cluster option`);
    }
  }

  async function openSlot(p: number): Promise<Slot> {
    const slotDispatcher = newDispatcher();
    const slotRouter = createRouter({
      ...routerBase,
      dispatcher: slotDispatcher,
      consumer: partitionConsumer(p),
      partitions: [p],
      deliverTo: placed('partition'),
      skipWhen: true,
    });
    for (const [name, spec] of rules) slotRouter.setRule(name, spec);
    const ready = (async () => {
      await slotDispatcher.restore(readAt, (record, key) => record?.partition === p && isPlaced('partition', key));
      await slotRouter.start();
    })();
    return { router: slotRouter, dispatcher: slotDispatcher, ready };
  }

  async function closeSlot(slot: Slot, drain = false): Promise<void> {
    await slot.ready.catch(() => undefined);
    await slot.router.close();
    await slot.dispatcher.close({ drain });
    await slot.router.finalCommit();
  }
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
      for (const slot of slots.values()) slot.router.setRule(name, spec);
      conditions.setRule(name, spec);
    },
    async start() {
      if (placement) {
        throw new HomeostatError(ErrorCode.INTERNAL, 'a cluster engine starts by partition and by leadership');
      }
      await dispatcher.restore(readAt);
      await router.start();
    },
    async startPartition(p) {
      requireCluster('startPartition');
      let slot = slots.get(p);
      if (!slot) {
        slot = await openSlot(p);
        slots.set(p, slot);
      }
      try {
        await slot.ready;
      } catch (err) {
        if (slots.get(p) === slot) slots.delete(p);
        await closeSlot(slot).catch(() => undefined);
        throw err;
      }
    },
    async stopPartition(p, options = {}) {
      const slot = slots.get(p);
      if (!slot) return;
      slots.delete(p);
      await closeSlot(slot, options.drain ?? false);
    },
    partitions: () => [...slots.keys()].sort((a, b) => a - b),
    async startLeader() {
      requireCluster('startLeader');
      if (leading) return;
      leading = true;
      // Pending retries of leader-placed targets, and those whose event left the log (dead-lettered here).
      await dispatcher.restore(readAt, (record, key) => record === undefined || isPlaced('leader', key));
      await router.start();
    },
    positions() {
      const read: Record<string, number> = {};
      if (!placement) read[ROUTER_CONSUMER] = router.position;
      else if (leading) read[LEADER_CONSUMER] = router.position;
      return read;
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
      const open = [...slots.values()];
      slots.clear();
      // Attempts under way finish and are recorded: the partitions' next owners skip them.
      await Promise.all(open.map((slot) => closeSlot(slot, true)));
      await router.close();
      await conditions.close();
      await dispatcher.close();
      if (!placement || leading) await router.finalCommit();
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
