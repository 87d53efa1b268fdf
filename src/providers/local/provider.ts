/**
 * @module The `local` provider: instance groups as real OS processes, load balancers as built-in
 * HTTP proxies guarded by security rules, health checks and metrics, all reported as provider events.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError, invalid } from '../../core/errors.js';
import {
  type DesiredResource,
  type InstanceGroupSpec,
  type ResourceKind,
  resourceRef,
} from '../../core/infra/types.js';
import type { Provider, ProviderChange, ProviderEvent } from '../../ports/provider.js';
import { type LbResource, type RuleResource, createBalancerSet } from './network.js';
import { type HealthTransition, startHealthChecker } from './health.js';
import { type InstanceExit, type InstanceRecord, createProcessManager, writeJsonFile } from './processes.js';
import {
  LOCAL_INSTANCE_TYPES,
  changedPaths,
  checkName,
  checkSpec,
  instanceSpecHash,
  mergePatch,
  stableJson,
} from './spec.js';
import { type InstanceView, buildGroupMetrics, buildObserved, isLive, routedTargets, viewOfRecord } from './view.js';

export interface LocalProviderOptions {
  /** Holds the provider's state (resources.json, instances.json) and instance logs (logs/). */
  readonly dataDir: string;
  /** Stamps events and status times. Timers (health checks, polls) always run in real time. */
  readonly clock?: Clock;
  /** How often each group's `metrics` event is emitted. Default 1,000 ms. */
  readonly metricsIntervalMs?: number;
  /** Address instances and balancers bind to. Default 127.0.0.1. */
  readonly host?: string;
  /** The provider's name in resources and events. Default 'local'. */
  readonly name?: string;
  /** SIGTERM to SIGKILL grace when stopping an instance. Default 10,000 ms. */
  readonly stopGraceMs?: number;
  /** With `drain`, the time between leaving the balancer and SIGTERM. Default 250 ms. */
  readonly drainMs?: number;
  /** How long stopped and crashed instances stay visible in `observe`. Default 60,000 ms. */
  readonly terminatedRetentionMs?: number;
}

type Group = DesiredResource & { readonly kind: 'InstanceGroup'; readonly spec: InstanceGroupSpec };

interface StoredState {
  readonly resources?: DesiredResource[];
  readonly nextIndex?: Record<string, number>;
  readonly balancerPorts?: Record<string, number>;
}

const KINDS: readonly ResourceKind[] = ['InstanceGroup', 'Instance', 'LoadBalancer', 'SecurityRule'];
const ADOPTED_EXIT = 'the process is gone; an adopted process has no observable exit status';
const GONE_AT_START = 'not running when the provider started: it ended while Homeostat was down';

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function readStored(path: string): StoredState {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StoredState;
  } catch (cause) {
    throw new HomeostatError(ErrorCode.BACKEND, `cannot read ${path}; fix or remove the file`, { cause });
  }
}

/** Creates the `local` provider. Call `start` before anything else: it re-adopts running instances. */
export function createLocalProvider(options: LocalProviderOptions): Provider {
  const clock = options.clock ?? systemClock;
  const name = options.name ?? 'local';
  const metricsIntervalMs = options.metricsIntervalMs ?? 1_000;
  const stateFile = join(options.dataDir, 'resources.json');
  const groups = new Map<string, Group>();
  const instances = new Map<string, InstanceView>();
  const nextIndex: Record<string, number> = {};
  const net = createBalancerSet((group) => routedTargets(instances.values(), group));
  let sink: (event: ProviderEvent) => void = () => undefined;
  let metricsTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const emit = (type: string, subject: string, data: Record<string, unknown>, cause?: string): void => {
    sink({ type, subject, time: clock.now(), data, ...(cause === undefined ? {} : { cause }) });
  };
  const ref = (n: string): string => resourceRef('Instance', n);

  const persist = (): void => {
    const resources = [...groups.values(), ...[...net.lbs.values()].map((l) => l.resource), ...net.rules.values()];
    writeJsonFile(stateFile, { version: 1, resources, nextIndex, balancerPorts: net.ports });
  };

  const onHealth = (n: string, t: HealthTransition): void => {
    const v = instances.get(n);
    if (v === undefined || (v.phase !== 'starting' && v.phase !== 'running')) return;
    v.healthy = t.kind !== 'unhealthy';
    if (t.kind === 'ready') {
      v.phase = 'running';
      v.readyAt = clock.now();
      processes.markReady(n, v.readyAt);
    }
    // Routing first: the balancers stop (or start) using the instance before anyone hears of it.
    net.syncTargets(v.group);
    const data = { group: v.group, address: v.address, pid: v.pid };
    if (t.kind === 'unhealthy') emit('instance.unhealthy', ref(n), { ...data, reason: t.reason, failures: t.failures });
    else emit(`instance.${t.kind}`, ref(n), data, t.kind === 'ready' ? v.startCause : undefined);
  };

  const watch = (v: InstanceView): void => {
    const g = groups.get(v.group);
    if (g === undefined || v.address === undefined) return;
    v.checker?.stop();
    const wasReady = v.readyAt !== undefined;
    const onTransition = (t: HealthTransition): void => onHealth(v.name, t);
    v.checker = startHealthChecker({ address: v.address, spec: g.spec.healthCheck, wasReady, onTransition });
  };

  const unwatch = (v: InstanceView): void => {
    v.checker?.stop();
    delete v.checker;
  };

  const onExit = (record: InstanceRecord, exit: InstanceExit): void => {
    const v = instances.get(record.name);
    if (v === undefined || v.pid !== record.pid) return;
    unwatch(v);
    Object.assign(v, { healthy: false, exitCode: exit.exitCode, signal: exit.signal, endedAt: clock.now() });
    v.phase = exit.requested ? 'stopped' : 'crashed';
    net.syncTargets(v.group);
    const data: Record<string, unknown> = { group: v.group, pid: v.pid, address: v.address };
    Object.assign(data, { exitCode: exit.exitCode, signal: exit.signal });
    if (exit.observedBy === 'poll') data.reason = ADOPTED_EXIT;
    emit(exit.requested ? 'instance.stopped' : 'instance.crashed', ref(v.name), data, v.stopCause);
    // A failed relaunch has already reported itself as instance.crashed.
    if (v.restart && groups.has(v.group)) launch(v.group, v.restart.cause, v.name).catch(() => undefined);
  };

  const processes = createProcessManager({
    dataDir: options.dataDir,
    host: options.host ?? '127.0.0.1',
    clock,
    onExit,
    ...(options.stopGraceMs === undefined ? {} : { stopGraceMs: options.stopGraceMs }),
  });

  async function launch(group: string, cause: string | undefined, reuse?: string): Promise<void> {
    const g = groups.get(group);
    if (g === undefined) {
      throw new HomeostatError(ErrorCode.NOT_FOUND, `no InstanceGroup '${group}' in provider ${name}; create it first`);
    }
    let n = reuse;
    if (n === undefined) {
      nextIndex[group] = (nextIndex[group] ?? 0) + 1;
      n = `${group}-${nextIndex[group]}`;
      persist();
    }
    // Visible (as starting) before the first await, so a concurrent observe counts it.
    const v: InstanceView = { name: n, group, phase: 'starting', healthy: false, specHash: instanceSpecHash(g.spec) };
    if (cause !== undefined) v.startCause = cause;
    instances.set(n, v);
    let record: InstanceRecord;
    try {
      record = await processes.launch({ name: n, group, template: g.spec.template, specHash: v.specHash });
    } catch (err) {
      Object.assign(v, { phase: 'crashed', endedAt: clock.now(), exitCode: null, signal: null });
      emit('instance.crashed', ref(n), { group, exitCode: null, signal: null, reason: message(err) }, cause);
      throw err;
    }
    Object.assign(v, { pid: record.pid, address: record.address, startedAt: record.startedAt });
    const data = { group, pid: record.pid, address: record.address, instanceType: g.spec.instanceType };
    emit('instance.started', ref(n), data, cause);
    if (v.phase === 'stopping') void processes.stop(n);
    else {
      net.syncTargets(group);
      watch(v);
    }
  }

  async function stopInstance(n: string, drain: boolean, cause: string | undefined): Promise<void> {
    const v = instances.get(n);
    if (v === undefined || (v.phase !== 'starting' && v.phase !== 'running')) return;
    v.phase = 'stopping';
    if (cause !== undefined) v.stopCause = cause;
    unwatch(v);
    net.syncTargets(v.group);
    if (v.pid === undefined) return; // still spawning: launch() stops it once it has a pid
    if (drain) await delay(options.drainMs ?? 250);
    await processes.stop(n);
  }

  function current(kind: ResourceKind, n: string): DesiredResource | undefined {
    if (kind === 'InstanceGroup') return groups.get(n);
    if (kind === 'LoadBalancer') return net.lbs.get(n)?.resource;
    if (kind === 'SecurityRule') return net.rules.get(n);
    return undefined;
  }

  const reportChange = (kind: ResourceKind, n: string, before: unknown, after: unknown, cause?: string): void => {
    const data = { kind, name: n, before: before ?? null, after: after ?? null, changed: changedPaths(before, after) };
    emit('resource.changed', resourceRef(kind, n), data, cause);
  };

  async function upsert(resource: DesiredResource, cause: string | undefined): Promise<void> {
    const problems = [...checkName(resource.name), ...checkSpec(resource.kind, resource.spec)];
    if (resource.kind === 'Instance') {
      problems.push({ pointer: '/kind', message: "instances are made with 'start-instance', not create or update" });
    }
    if (problems.length > 0) throw invalid(`${resource.kind} ${resource.name}`, problems);
    const r: DesiredResource = { ...resource, provider: name, tags: resource.tags ?? {} };
    const before = current(r.kind, r.name);
    if (before && stableJson([before.spec, before.tags]) === stableJson([r.spec, r.tags])) return;
    if (r.kind === 'LoadBalancer') await net.upsertBalancer(r as LbResource);
    else if (r.kind === 'SecurityRule') net.upsertRule(r as RuleResource);
    else {
      groups.set(r.name, r as Group);
      // New health check settings apply at once to the group's instances.
      const checks = (g: DesiredResource | undefined): string => stableJson((g as Group | undefined)?.spec.healthCheck);
      if (before && checks(before) !== checks(r)) {
        for (const v of instances.values()) if (v.group === r.name && v.checker) watch(v);
      }
    }
    persist();
    reportChange(r.kind, r.name, before?.spec, r.spec, cause);
    const [from, to] = [(before as Group | undefined)?.spec.desired, (r as Group).spec.desired];
    if (r.kind === 'InstanceGroup' && from !== undefined && from !== to) {
      emit('group.scaled', resourceRef('InstanceGroup', r.name), { from, to }, cause);
    }
  }

  async function remove(kind: ResourceKind, n: string, cause: string | undefined): Promise<void> {
    if (kind === 'Instance') return stopInstance(n, true, cause);
    const before = current(kind, n);
    if (before === undefined) return;
    if (kind === 'InstanceGroup') {
      groups.delete(n);
      for (const v of instances.values()) if (v.group === n) void stopInstance(v.name, true, cause);
    } else if (kind === 'LoadBalancer') await net.removeBalancer(n);
    else net.removeRule(n);
    persist();
    reportChange(kind, n, before.spec, undefined, cause);
  }

  function adoptInstances(): void {
    const { adopted, gone } = processes.adopt();
    for (const r of adopted) {
      const v = viewOfRecord(r, true, clock.now());
      instances.set(r.name, v);
      emit('instance.adopted', ref(r.name), { group: r.group, pid: r.pid, address: r.address });
      watch(v);
    }
    for (const r of gone) {
      instances.set(r.name, viewOfRecord(r, false, clock.now()));
      const data = { group: r.group, pid: r.pid, address: r.address, exitCode: null, signal: null };
      emit('instance.crashed', ref(r.name), { ...data, reason: GONE_AT_START });
    }
  }

  const emitMetrics = (): void => {
    const samples = processes.sample();
    const windows = net.takeMetrics();
    for (const g of groups.keys()) {
      const mine = windows.filter((w) => w.group === g).map((w) => w.metrics);
      const metrics = buildGroupMetrics(g, instances.values(), samples, mine);
      emit('metrics', resourceRef('InstanceGroup', g), { ...metrics, intervalMs: metricsIntervalMs });
    }
  };

  async function applyChange(change: ProviderChange): Promise<void> {
    switch (change.op) {
      case 'create':
      case 'update':
        return upsert(change.resource, change.cause);
      case 'delete':
        return remove(change.kind, change.name, change.cause);
      case 'start-instance':
        return launch(change.group, change.cause);
      case 'stop-instance':
        // Accepted now; instance.stopped reports the end.
        void stopInstance(change.name, change.drain, change.cause);
        return;
      case 'restart-instance': {
        const v = instances.get(change.name);
        if (v === undefined || (v.phase !== 'starting' && v.phase !== 'running')) {
          throw new HomeostatError(ErrorCode.NOT_FOUND, `no running instance '${change.name}' in provider ${name}`);
        }
        v.restart = change.cause === undefined ? {} : { cause: change.cause };
        void stopInstance(change.name, true, change.cause);
      }
    }
  }

  return {
    name,
    kinds: KINDS,
    instanceTypes: LOCAL_INSTANCE_TYPES,

    async start(events) {
      sink = events;
      const stored = readStored(stateFile);
      for (const r of stored.resources ?? []) if (r.kind === 'InstanceGroup') groups.set(r.name, r as Group);
      net.restore(stored.resources ?? [], stored.balancerPorts ?? {});
      Object.assign(nextIndex, stored.nextIndex ?? {});
      adoptInstances();
      await net.openAll((lb, err) =>
        emit('loadbalancer.failed', resourceRef('LoadBalancer', lb), { reason: message(err) }),
      );
      persist();
      metricsTimer = setInterval(emitMetrics, metricsIntervalMs);
    },

    async observe() {
      const horizon = clock.now() - (options.terminatedRetentionMs ?? 60_000);
      for (const [n, v] of instances) if (v.endedAt !== undefined && v.endedAt < horizon) instances.delete(n);
      const { lbs, rules } = net;
      return buildObserved({
        provider: name,
        groups: groups.values(),
        lbs: lbs.values(),
        rules: rules.values(),
        instances: instances.values(),
      });
    },

    async apply(change) {
      if (closed) throw new HomeostatError(ErrorCode.CLOSED, `provider ${name} is closed`);
      await applyChange(change);
    },

    async set(kind, n, patch) {
      const before = current(kind, n);
      if (before === undefined) {
        throw new HomeostatError(ErrorCode.NOT_FOUND, `no ${kind} '${n}' in provider ${name}; list them with observe`);
      }
      await upsert({ ...before, spec: mergePatch(before.spec, patch) as DesiredResource['spec'] }, undefined);
    },

    async close(closeOptions = {}) {
      closed = true;
      clearInterval(metricsTimer);
      for (const v of instances.values()) v.checker?.stop();
      if (closeOptions.stopAll) {
        for (const v of instances.values()) if (isLive(v)) v.phase = 'stopping';
        await processes.close({ stopAll: true });
      } else await processes.close();
      await net.close();
      persist();
      sink = () => undefined;
    },
  };
}
