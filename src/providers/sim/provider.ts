/**
 * @module The `sim` provider: a deterministic simulated cloud behind the Provider port. Instance
 * groups of simulated instances boot, serve a demand curve, fail as injected, and report it all
 * as provider events on a virtual clock.
 */
import { ErrorCode, hasCode, HomeostatError, invalid, type Problem } from '../../core/errors.js';
import {
  type DesiredResource,
  type InstanceGroupSpec,
  type Resource,
  type ResourceKind,
  resourceRef,
} from '../../core/infra/types.js';
import type { Provider, ProviderChange, ProviderEvent } from '../../ports/provider.js';
import { SIM_INSTANCE_TYPES, simInstanceType } from './catalog.js';
import { driveInRealTime, type RealtimeDriver, type Timer, type VirtualClock } from './clock.js';
import { resolveDemandCurve } from './demand.js';
import { FaultRunner, type FaultRecord } from './fault-runner.js';
import { resolveFault, type SimFaultInput } from './faults.js';
import { createFleet, type Fleet } from './fleet.js';
import { isLive, type SimInstance } from './instance.js';
import { type GroupLoad, sampleGroup } from './metrics.js';
import {
  type ResolvedSimProviderOptions,
  resolveSimGroupOptions,
  resolveSimProviderOptions,
  type SimGroupOptions,
  type SimProviderOptions,
} from './options.js';
import { createRandom, type Random } from './random.js';
import { observeAll, type Stored } from './observe.js';
import { changedPaths, checkResource, checkSpec, type CheckedSpec, mergePatch, SIM_KINDS } from './validate.js';
import { Reader } from './read.js';

/** The sim provider: the Provider port plus the controls of the simulation. */
export interface SimProvider extends Provider {
  readonly clock: VirtualClock;
  /** Virtual time the simulation started at; demand and fault times count from it. */
  readonly simStart: number;
  /** Sets a group's load (demand curve, capacity); takes effect at the next metrics sample. */
  configureGroup(group: string, options: SimGroupOptions): void;
  /**
   * Brings every group to its desired count once: starts the missing instances and drains the
   * extras (not yet healthy ones first, then the newest). The provider never does this on its
   * own (the engine's reconciler does); this is for running the simulation without the engine.
   * Starts what the cloud allows (not in zones that are out, not past maxInstances). Returns the
   * number of instances started or stopped.
   */
  converge(cause?: string): number;
  /** Injects a fault; returns its id (fault-N). */
  inject(fault: SimFaultInput): string;
  /** Every fault firing so far, in order. */
  faultLog(): readonly FaultRecord[];
  /** Live instances per phase, for quick checks in what-if runs. */
  counts(): Readonly<Record<'starting' | 'running' | 'stopping' | 'healthy', number>>;
}

/** Creates a sim provider. Throws E_INVALID for bad options. */
export function createSimProvider(options: SimProviderOptions = {}): SimProvider {
  return new Sim(resolveSimProviderOptions(options));
}

class Sim implements SimProvider {
  readonly name: string;
  readonly kinds = SIM_KINDS;
  readonly instanceTypes = SIM_INSTANCE_TYPES;
  readonly clock: VirtualClock;
  readonly simStart: number;
  private readonly random: Random;
  private readonly fleet: Fleet;
  private readonly faults: FaultRunner;
  private readonly stored = new Map<ResourceKind, Map<string, Stored>>();
  private readonly loads = new Map<string, GroupLoad>();
  private sink: ((event: ProviderEvent) => void) | undefined;
  private metricsTimer: Timer | undefined;
  private driver: RealtimeDriver | undefined;
  private faultSeq: number;

  constructor(private readonly options: ResolvedSimProviderOptions) {
    this.name = options.name;
    this.clock = options.clock;
    this.simStart = this.clock.now();
    this.random = createRandom(options.seed);
    for (const kind of SIM_KINDS) this.stored.set(kind, new Map());
    this.faults = new FaultRunner({ clock: this.clock, random: this.random.fork('faults'), simStart: this.simStart });
    this.fleet = createFleet(
      { ...options, clock: this.clock, random: this.random.fork('boot') },
      {
        emit: (type, subject, data, cause) => this.emit(type, subject, data, cause),
        bootFactor: (inst) => this.faults.bootFactor(inst),
        launched: (inst) => this.faults.launched(inst),
      },
    );
    this.faults.attach(this.fleet);
    for (const [group, load] of Object.entries(options.groups)) this.setLoad(group, load);
    for (const fault of options.faults) this.faults.add(fault);
    this.faultSeq = options.faults.length;
  }

  start(events: (event: ProviderEvent) => void): Promise<void> {
    // The simulation lives in this object: after close() without stopAll it simply resumes.
    this.sink = events;
    if (this.metricsTimer === undefined) {
      this.metricsTimer = this.clock.every(this.options.metricsIntervalMs, () => this.sampleAll());
    }
    if (this.options.speed !== undefined && this.driver === undefined) {
      this.driver = driveInRealTime(this.clock, this.options.speed);
    }
    return Promise.resolve();
  }

  observe(): Promise<Resource[]> {
    return Promise.resolve(observeAll(this.name, this.stored, this.fleet));
  }

  /** Applies the change at the current virtual time; its events are reported before it resolves. */
  async apply(change: ProviderChange): Promise<void> {
    this.mustBeStarted();
    this.applyNow(change);
  }

  async set(kind: ResourceKind, name: string, patch: Readonly<Record<string, unknown>>): Promise<void> {
    this.mustBeStarted();
    this.setNow(kind, name, patch);
  }

  close(options: { readonly stopAll?: boolean } = {}): Promise<void> {
    if (options.stopAll === true) {
      for (const inst of [...this.fleet.instances.values()]) this.fleet.stop(inst, false, 'closed');
    }
    this.clock.cancel(this.metricsTimer);
    this.metricsTimer = undefined;
    this.driver?.stop();
    this.driver = undefined;
    this.sink = undefined;
    return Promise.resolve();
  }

  configureGroup(group: string, options: SimGroupOptions): void {
    this.setLoad(group, resolveSimGroupOptions(options));
  }

  inject(input: SimFaultInput): string {
    const fault = resolveFault(input, `fault-${this.faultSeq + 1}`, this.options.zones);
    this.faultSeq++;
    this.faults.add(fault);
    return fault.id;
  }

  converge(cause?: string): number {
    this.mustBeStarted();
    let changes = 0;
    for (const [name, stored] of this.stored.get('InstanceGroup')!) {
      const desired = (stored.spec as InstanceGroupSpec).desired;
      const group = this.fleet.groups.get(name)!;
      const live = [...group.live].filter((i) => i.phase !== 'stopping');
      for (let n = live.length; n < desired && this.tryLaunch(name, cause); n++) changes++;
      for (const inst of scaleInOrder(live).slice(0, Math.max(0, live.length - desired))) {
        this.fleet.stop(inst, true, 'scale-in', cause);
        changes++;
      }
    }
    return changes;
  }

  /** Launches one instance; false when the cloud cannot (every zone out, instance limit). */
  private tryLaunch(group: string, cause: string | undefined): boolean {
    try {
      this.fleet.launch(group, cause);
      return true;
    } catch (err) {
      if (hasCode(err, ErrorCode.BACKEND)) return false;
      throw err;
    }
  }

  faultLog(): readonly FaultRecord[] {
    return this.faults.log;
  }

  counts(): Readonly<Record<'starting' | 'running' | 'stopping' | 'healthy', number>> {
    const counts = { starting: 0, running: 0, stopping: 0, healthy: 0 };
    for (const inst of this.fleet.instances.values()) {
      if (!isLive(inst)) continue;
      counts[inst.phase as 'starting' | 'running' | 'stopping']++;
      if (inst.healthy && inst.phase === 'running') counts.healthy++;
    }
    return counts;
  }

  private applyNow(change: ProviderChange): void {
    switch (change.op) {
      case 'create':
      case 'update':
        this.upsert(change.resource, checkResource(change.resource), change.cause, false);
        return;
      case 'delete':
        this.remove(change.kind, change.name, change.cause);
        return;
      case 'start-instance':
        this.fleet.launch(change.group, change.cause);
        return;
      case 'stop-instance': {
        const inst = this.fleet.instances.get(change.name);
        if (inst !== undefined) this.fleet.stop(inst, change.drain, 'requested', change.cause);
        return;
      }
      case 'restart-instance': {
        const inst = this.fleet.instances.get(change.name);
        if (inst === undefined) throw notFound('Instance', change.name);
        this.fleet.restart(inst, change.cause);
        return;
      }
      default:
        throw new HomeostatError(
          ErrorCode.INVALID,
          `sim: unknown change op ${JSON.stringify((change as { op: unknown }).op)}`,
        );
    }
  }

  private setNow(kind: ResourceKind, name: string, patch: Readonly<Record<string, unknown>>): void {
    const current = this.stored.get(kind)?.get(name);
    if (current === undefined || kind === 'Instance') {
      if (kind === 'Instance' && this.fleet.instances.has(name)) {
        throw new HomeostatError(
          ErrorCode.INVALID,
          `sim: an Instance has no settable spec; restart or stop ${name} instead`,
        );
      }
      throw notFound(kind, name);
    }
    const merged = mergePatch(current.spec, patch) as Record<string, unknown>;
    const spec = checkPatched(kind, name, merged);
    this.upsert({ kind, name, tags: current.tags } as DesiredResource, spec, undefined, true);
  }

  private upsert(resource: DesiredResource, spec: CheckedSpec, cause: string | undefined, outOfBand: boolean): void {
    const { kind, name } = resource;
    const table = this.stored.get(kind)!;
    const before = table.get(name);
    const tags = Object.freeze({ ...(resource.tags ?? {}) });
    if (before !== undefined && same(before.spec, spec) && same(before.tags, tags)) return;
    table.set(name, { spec, tags });
    if (kind === 'InstanceGroup') this.groupChanged(name, spec as InstanceGroupSpec);
    const data: Record<string, unknown> = {
      kind,
      name,
      op: before === undefined ? 'create' : 'update',
      before: before?.spec ?? null,
      after: spec,
      changed: changedPaths(before?.spec, spec),
    };
    if (outOfBand) data.outOfBand = true;
    this.emit('resource.changed', resourceRef(kind, name), data, cause);
    const [from, to] = [(before?.spec as InstanceGroupSpec | undefined)?.desired, (spec as InstanceGroupSpec).desired];
    if (kind === 'InstanceGroup' && from !== undefined && from !== to) {
      this.emit('group.scaled', resourceRef(kind, name), { group: name, from, to }, cause);
    }
  }

  /** The fleet learns the group's type and checks; the count is the reconciler's (or `converge`'s) to change. */
  private groupChanged(name: string, spec: InstanceGroupSpec): void {
    this.fleet.setGroup(name, simInstanceType(spec.instanceType)!, spec.healthCheck);
    if (!this.loads.has(name)) this.setLoad(name, {});
  }

  private remove(kind: ResourceKind, name: string, cause: string | undefined): void {
    if (kind === 'Instance') {
      const inst = this.fleet.instances.get(name);
      if (inst !== undefined) this.fleet.stop(inst, true, 'requested', cause);
      return;
    }
    const table = this.stored.get(kind);
    const before = table?.get(name);
    if (table === undefined || before === undefined) return;
    if (kind === 'InstanceGroup') this.fleet.removeGroup(name, cause);
    table.delete(name);
    const data = { kind, name, op: 'delete', before: before.spec, after: null, changed: ['/'] };
    this.emit('resource.changed', resourceRef(kind, name), data, cause);
  }

  private setLoad(group: string, options: { readonly demand?: GroupLoad['demand']; readonly capacityRps?: number }) {
    this.loads.set(group, {
      demand: options.demand ?? resolveDemandCurve(0),
      ...(options.capacityRps === undefined ? {} : { capacityRps: options.capacityRps }),
      random: this.loads.get(group)?.random ?? this.random.fork(`demand:${group}`),
    });
  }

  private sampleAll(): void {
    const t = this.clock.now() - this.simStart;
    for (const group of this.fleet.groups.values()) {
      const load = this.loads.get(group.name)!;
      const metrics = sampleGroup(this.fleet, group, load, t, {
        intervalMs: this.options.metricsIntervalMs,
        timeoutMs: this.options.requestTimeoutMs,
        perInstanceLimit: this.options.perInstanceLimit,
      });
      this.emit('metrics', resourceRef('InstanceGroup', group.name), metrics as unknown as Record<string, unknown>);
    }
  }

  private emit(type: string, subject: string, data: Readonly<Record<string, unknown>>, cause?: string): void {
    const event =
      cause === undefined
        ? { type, subject, time: this.clock.now(), data }
        : { type, subject, time: this.clock.now(), data, cause };
    this.sink?.(event);
  }

  private mustBeStarted(): void {
    if (this.sink === undefined) {
      throw new HomeostatError(ErrorCode.CLOSED, `sim provider ${this.name} is not started; call start(events) first`);
    }
  }
}

/** Instances to stop first when scaling in: not yet healthy ones, then the newest. */
function scaleInOrder(live: readonly SimInstance[]): SimInstance[] {
  return [...live].reverse().sort((a, b) => Number(a.healthy) - Number(b.healthy));
}

function checkPatched(kind: ResourceKind, name: string, spec: Record<string, unknown>): CheckedSpec {
  const problems: Problem[] = [];
  const checked = checkSpec(kind, new Reader(spec, '/spec', problems));
  if (problems.length > 0) throw invalid(`sim: the change to ${kind} ${JSON.stringify(name)} is invalid`, problems);
  return checked;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function notFound(kind: string, name: string): HomeostatError {
  return new HomeostatError(ErrorCode.NOT_FOUND, `sim: ${kind} ${JSON.stringify(name)} does not exist`);
}
