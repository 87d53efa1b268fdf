/**
 * @module A FinOps test bench: a real event log and state database (SQLite files in a temp dir; NATS
 * JetStream and PostgreSQL in the cluster pass), a manual
 * clock, and a small fake infrastructure + action gate that append the events a real provider,
 * reconciler and gate would (group.scaled ← action, reconcile.decided ← group.scaled,
 * instance.started/stopped ← decision, homeostat.action.executed after the action ran).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { Resource } from '../../src/core/infra/types.js';
import type { ActionGate, ActionRecord, GroupView, InfraControl } from '../../src/engine/automation/types.js';
import { createFinOps, type FinOps, type FinOpsOptions } from '../../src/engine/finops/finops.js';
import type { PolicyContext, PolicyInstance, PolicyKind } from '../../src/engine/policies/types.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { openTestBackends, removeTestBackends, type TestBackends } from '../cluster/backends.js';

export const PRICES = { sim: { 'sim.small': { pricePerHour: 0.021 }, 'sim.large': { pricePerHour: 0.084 } } };
export const H = 3_600_000;

interface FakeGroup {
  name: string;
  stack?: string;
  tags: Record<string, string>;
  desired: number;
  min: number;
  max: number;
  instanceType: string;
  instances: string[];
  next: number;
}

export interface Bench {
  readonly dir: string;
  readonly clock: ManualClock;
  log: EventLog;
  backends: TestBackends;
  finops: FinOps;
  readonly infra: InfraControl & {
    addGroup(g: Partial<FakeGroup> & { name: string; desired: number }): Promise<void>;
    crash(instance: string): Promise<void>;
  };
  readonly gate: ActionGate & { readonly records: ActionRecord[] };
  readonly publish: (events: readonly CloudEvent[]) => Promise<unknown>;
  /** Events of a type in the log, oldest first. */
  events(type: string): Promise<CloudEvent[]>;
  /** Appends a metrics event for a group; returns its id. */
  metrics(group: string, data: Record<string, unknown>): Promise<string>;
  /** Starts a policy instance of one of the FinOps kinds with the bench's context. */
  startPolicy(kind: string, manifest: Record<string, unknown>): Promise<PolicyInstance>;
  /** Closes FinOps, the log and the database, and opens them again over the same files. */
  restart(options?: Partial<FinOpsOptions>): Promise<void>;
  close(): Promise<void>;
}

export async function createBench(options: Partial<FinOpsOptions> = {}): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-finops-'));
  const clock = createManualClock(Date.UTC(2026, 2, 10, 12, 0));
  const groups = new Map<string, FakeGroup>();
  const records: ActionRecord[] = [];
  let seq = 0;
  const id = (p: string) => `${p}-${(seq++).toString(36)}`;
  const time = () => new Date(clock.now()).toISOString();

  const bench = {
    dir,
    clock,
  } as Bench;
  bench.backends = await openTestBackends(dir, clock);
  bench.log = bench.backends.log;

  const publish = async (events: readonly CloudEvent[]) => bench.log.append(events);
  const ev = (
    type: string,
    subject: string,
    data: Record<string, unknown>,
    cause?: string,
    source = 'homeostat/provider/sim',
  ): CloudEvent => ({
    specversion: '1.0',
    id: id(type.split('.').slice(-1)[0]!),
    source,
    type,
    subject,
    time: time(),
    ...(cause ? { causationid: cause } : {}),
    data,
  });

  const view = (g: FakeGroup): GroupView => ({
    name: g.name,
    provider: 'sim',
    ...(g.stack ? { stack: g.stack } : {}),
    desired: g.desired,
    min: g.min,
    max: g.max,
    instanceType: g.instanceType,
    pricePerHour: 0,
    tags: { ...g.tags, 'homeostat.io/stack': g.stack ?? '' },
    instances: g.instances.map(
      (name) =>
        ({
          kind: 'Instance',
          name,
          spec: { group: g.name },
          status: { group: g.name, phase: 'running', healthy: true, startedAt: clock.now() },
          tags: {},
          pricePerHour: 0,
          provider: 'sim',
        }) as Resource<'Instance'>,
    ),
    held: false,
  });

  /** What the reconciler and provider would report to converge `g` to its desired size. */
  async function converge(g: FakeGroup, trigger: string | undefined): Promise<void> {
    const out: CloudEvent[] = [];
    while (g.instances.length < g.desired) {
      const name = `${g.name}-${++g.next}`;
      const decision = ev(
        'infra.reconcile.decided',
        `instancegroup/${g.name}`,
        { group: g.name, op: 'start-instance', reason: 'scale out to desired' },
        trigger,
        'homeostat/reconciler',
      );
      out.push(
        decision,
        ev('infra.instance.started', `instance/${name}`, { group: g.name, instanceType: g.instanceType }, decision.id),
      );
      g.instances.push(name);
    }
    while (g.instances.length > g.desired) {
      const name = g.instances.pop()!;
      const decision = ev(
        'infra.reconcile.decided',
        `instancegroup/${g.name}`,
        { group: g.name, op: 'stop-instance', instance: name, reason: 'scale in to desired' },
        trigger,
        'homeostat/reconciler',
      );
      out.push(decision, ev('infra.instance.stopped', `instance/${name}`, { group: g.name }, decision.id));
    }
    if (out.length > 0) await publish(out);
  }

  const notImplemented = async (): Promise<never> => {
    throw new Error('not used by these tests');
  };
  const infra: Bench['infra'] = {
    async addGroup(spec) {
      const g: FakeGroup = { tags: {}, min: 0, max: 100, instanceType: 'sim.small', instances: [], next: 0, ...spec };
      groups.set(g.name, g);
      await converge(g, undefined);
    },
    async crash(name) {
      const g = [...groups.values()].find((x) => x.instances.includes(name))!;
      g.instances = g.instances.filter((n) => n !== name);
      const crashed = ev('infra.instance.crashed', `instance/${name}`, { group: g.name, exitCode: 137 });
      await publish([crashed]);
      await converge(g, crashed.id);
    },
    resources: async () => [],
    group: async (name) => (groups.has(name) ? view(groups.get(name)!) : undefined),
    groups: async () => [...groups.values()].map(view),
    async scaleGroup(name, desired, cause) {
      const g = groups.get(name)!;
      const from = g.desired;
      const to = Math.max(g.min, Math.min(g.max, desired));
      g.desired = to;
      if (to === from) return { from, to };
      const scaled = ev('infra.group.scaled', `instancegroup/${name}`, { group: name, from, to }, cause);
      await publish([scaled]);
      await converge(g, scaled.id);
      return { from, to };
    },
    replaceInstance: notImplemented,
    restartInstance: notImplemented,
    stopInstance: notImplemented,
    holdGroup: notImplemented,
    releaseGroup: notImplemented,
    revert: notImplemented,
    patch: notImplemented,
  };

  const gate: Bench['gate'] = {
    records,
    configure: () => undefined,
    remove: () => undefined,
    async submit(request, perform) {
      const actionId = id('act');
      const result = await perform(actionId);
      const record: ActionRecord = { ...request, id: actionId, at: clock.now(), outcome: 'executed', result };
      records.push(record);
      await publish([
        {
          ...ev('homeostat.action.executed', request.resource, { ...record }, request.cause, 'homeostat/gate'),
          id: actionId,
        },
      ]);
      return record;
    },
    recent: () => [...records].reverse(),
    frozen: () => [],
  };

  const make = (o: Partial<FinOpsOptions>) =>
    createFinOps({
      log: bench.log,
      ledger: bench.backends.stores.costLedger,
      clock,
      publish,
      infra,
      instanceTypes: PRICES,
      evaluateEveryMs: 0,
      timers: false,
      onError: (err) => {
        throw err;
      },
      ...o,
    });

  const context = (): PolicyContext => ({
    clock,
    logger: pino({ level: 'silent' }),
    infra,
    gate,
    publish,
    notify: async () => undefined,
  });

  Object.assign(bench, {
    finops: make(options),
    infra,
    gate,
    publish,
    async events(type: string) {
      return (await bench.log.query({ types: [type], order: 'asc', limit: 1000 })).map((r) => r.event);
    },
    async metrics(group: string, data: Record<string, unknown>) {
      const e = ev('infra.metrics', `instancegroup/${group}`, data);
      await publish([e]);
      return e.id;
    },
    async startPolicy(kind: string, manifest: Record<string, unknown>) {
      const k = bench.finops.kinds.find((x: PolicyKind) => x.kind === kind)!;
      return k.start(k.parse(manifest), context());
    },
    async restart(o: Partial<FinOpsOptions> = {}) {
      await bench.finops.close();
      await bench.backends.close();
      bench.backends = await openTestBackends(dir, clock);
      bench.log = bench.backends.log;
      bench.finops = make({ ...options, ...o });
      await bench.finops.start();
    },
    async close() {
      await bench.finops.close();
      await bench.backends.close();
      await removeTestBackends(dir);
    },
  });
  return bench;
}
