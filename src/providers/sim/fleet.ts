/**
 * @module The simulated instances: placement over zones, boot, health as seen by the balancer's
 * checks, crash, hang, stop with drain, restart, zone outages, and the events each change makes.
 */
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { HealthCheckSpec } from '../../core/infra/types.js';
import type { VirtualClock } from './clock.js';
import type { SimInstanceType } from './catalog.js';
import { healthyAt, unhealthyTiming } from './health.js';
import { type FleetGroup, isLive, ref, type SimInstance } from './instance.js';
import type { Random } from './random.js';
import { Zones } from './zones.js';

export interface FleetHooks {
  emit(type: string, subject: string, data: Record<string, unknown>, cause?: string): void;
  /** The factor by which this boot is slowed (1: not), and the fault that did it. */
  bootFactor(instance: SimInstance): { readonly factor: number; readonly fault?: string };
  /** Called once per launch (not on restart), to schedule the instance's random faults. */
  launched(instance: SimInstance): void;
}

export interface FleetOptions {
  readonly clock: VirtualClock;
  readonly random: Random;
  readonly zones: readonly string[];
  readonly drainMs: number;
  readonly retentionMs: number;
  readonly maxInstances: number;
}

export type StopReason = 'requested' | 'restart' | 'scale-in' | 'group-deleted' | 'closed';

/** Exit details of a crash. */
export interface CrashInfo {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: string;
  readonly fault?: string;
}

/** Creates the fleet of simulated instances. */
export function createFleet(options: FleetOptions, hooks: FleetHooks): Fleet {
  return new Fleet(options, hooks);
}

export class Fleet {
  readonly groups = new Map<string, FleetGroup>();
  /** Live instances and terminated ones kept for `retentionMs`. */
  readonly instances = new Map<string, SimInstance>();
  private readonly zones: Zones;
  private liveCount = 0;
  /** Name counters of deleted groups. */
  private readonly deleted = new Map<string, number>();
  private addressSeq = 0;

  constructor(
    private readonly options: FleetOptions,
    private readonly hooks: FleetHooks,
  ) {
    this.zones = new Zones(options.zones);
  }

  setGroup(name: string, type: SimInstanceType, healthCheck: HealthCheckSpec): FleetGroup {
    const existing = this.groups.get(name);
    if (existing !== undefined) {
      existing.type = type; // new instances use it; running ones keep theirs
      existing.healthCheck = healthCheck;
      return existing;
    }
    // The counter survives a delete, so a re-created group never reuses a draining instance's name.
    const next = this.deleted.get(name) ?? 1;
    const group: FleetGroup = { name, type, healthCheck, live: new Set(), perZone: new Map(), next, version: 0 };
    this.groups.set(name, group);
    return group;
  }

  /** Forgets a group; its instances are drained and stopped. */
  removeGroup(name: string, cause?: string): void {
    const group = this.groups.get(name);
    if (group === undefined) return;
    this.groups.delete(name);
    this.deleted.set(name, group.next);
    for (const inst of [...group.live]) this.stop(inst, true, 'group-deleted', cause);
  }

  /** Starts a new instance in `groupName`, named `<group>-<n>` (n counts up per group, never reused). */
  launch(groupName: string, cause?: string): SimInstance {
    const group = this.mustGroup(groupName);
    if (this.liveCount >= this.options.maxInstances) {
      throw new HomeostatError(
        ErrorCode.BACKEND,
        `sim: the instance limit (${this.options.maxInstances}) is reached; stop instances or raise maxInstances`,
      );
    }
    const zone = this.zones.place(group.name, group.perZone);
    const inst: SimInstance = {
      name: `${group.name}-${group.next++}`,
      group: group.name,
      home: group,
      zone,
      type: group.type,
      address: this.nextAddress(),
      phase: 'starting',
      healthy: false,
      hung: false,
      startedAt: 0,
      anchor: 0,
      faultTimers: [],
    };
    this.instances.set(inst.name, inst);
    this.boot(inst, cause, false);
    this.hooks.launched(inst);
    return inst;
  }

  /**
   * Restarts a starting or running instance in place (same name and zone): a running one leaves
   * the balancer and stops after `drainMs`, then boots again. A hang ends with the restart.
   */
  restart(inst: SimInstance, cause?: string): void {
    if (inst.phase !== 'starting' && inst.phase !== 'running') {
      throw new HomeostatError(ErrorCode.NOT_FOUND, `sim: no running instance ${JSON.stringify(inst.name)} to restart`);
    }
    if (this.zones.isDown(inst.zone)) {
      throw new HomeostatError(ErrorCode.BACKEND, `sim: zone ${inst.zone} is out; instance ${inst.name} cannot start`);
    }
    if (inst.phase === 'starting' || this.options.drainMs === 0) {
      this.relaunch(inst, false, cause);
      return;
    }
    this.clearTimers(inst, false);
    inst.phase = 'stopping';
    this.touch(inst);
    inst.timer = this.options.clock.after(this.options.drainMs, () => this.relaunch(inst, true, cause));
  }

  private relaunch(inst: SimInstance, drained: boolean, cause: string | undefined): void {
    const info = { exitCode: 0, signal: 'SIGTERM', reason: 'restart', drained };
    if (this.groups.get(inst.group) !== inst.home) {
      this.terminate(inst, 'stopped', { ...info, reason: 'group-deleted' }, cause);
      return;
    }
    this.terminate(inst, 'stopped', info, cause);
    inst.hung = false;
    this.options.clock.cancel(inst.hangTimer);
    this.boot(inst, cause, true);
  }

  /** Stops an instance; with `drain` it leaves the balancer first and stops after `drainMs`. */
  stop(inst: SimInstance, drain: boolean, reason: StopReason, cause?: string): void {
    if (!isLive(inst)) return;
    const info = { exitCode: 0, signal: 'SIGTERM', reason, drained: drain };
    if (!drain || inst.phase === 'starting' || this.options.drainMs === 0) {
      this.terminate(inst, 'stopped', info, cause);
      return;
    }
    if (inst.phase === 'stopping') return;
    this.clearTimers(inst, false);
    inst.phase = 'stopping';
    this.touch(inst);
    inst.timer = this.options.clock.after(this.options.drainMs, () => this.terminate(inst, 'stopped', info, cause));
  }

  /** The instance exits on its own. */
  crash(inst: SimInstance, info: CrashInfo): void {
    if (isLive(inst)) this.terminate(inst, 'crashed', info);
  }

  /** The instance stops answering, for `durationMs` or until restarted. */
  hang(inst: SimInstance, durationMs?: number): void {
    if (!isLive(inst) || inst.hung) return;
    const was = this.answering(inst);
    inst.hung = true;
    this.touch(inst);
    if (was) this.stoppedAnswering(inst);
    if (durationMs !== undefined) {
      inst.hangTimer = this.options.clock.after(durationMs, () => this.unhang(inst));
    }
  }

  unhang(inst: SimInstance): void {
    if (!inst.hung) return;
    inst.hung = false;
    this.touch(inst);
    if (isLive(inst) && this.answering(inst)) this.resumedAnswering(inst);
  }

  /** Takes a zone down: its instances crash or stop answering; nothing new is placed there. */
  zoneDown(zone: string, mode: 'crash' | 'unreachable', fault?: string): SimInstance[] {
    if (!this.zones.has(zone) || this.zones.isDown(zone)) return [];
    const hit = this.liveIn(zone);
    for (const inst of hit) {
      if (mode === 'crash') {
        this.crash(inst, { exitCode: null, signal: 'SIGKILL', reason: 'zone-outage', fault });
      } else if (this.answering(inst)) {
        this.stoppedAnswering(inst);
      }
    }
    this.zones.setDown(zone, true);
    for (const group of this.groups.values()) group.version++;
    return hit;
  }

  zoneUp(zone: string): void {
    if (!this.zones.setDown(zone, false)) return;
    for (const group of this.groups.values()) group.version++;
    for (const inst of this.liveIn(zone)) if (this.answering(inst)) this.resumedAnswering(inst);
  }

  isZoneDown(zone: string): boolean {
    return this.zones.isDown(zone);
  }

  /** Whether the instance answers requests and health checks. */
  answering(inst: SimInstance): boolean {
    return !inst.hung && !this.zones.isDown(inst.zone);
  }

  /** Live instances in the zone, including those of deleted groups still draining. */
  private liveIn(zone: string): SimInstance[] {
    const out: SimInstance[] = [];
    for (const inst of this.instances.values()) if (inst.zone === zone && isLive(inst)) out.push(inst);
    return out;
  }

  private boot(inst: SimInstance, cause: string | undefined, restart: boolean): void {
    const { clock, random } = this.options;
    const slow = this.hooks.bootFactor(inst);
    const bootMs = Math.round(inst.type.bootMs * (0.9 + 0.2 * random.next()) * slow.factor);
    clock.cancel(inst.timer);
    inst.phase = 'starting';
    inst.healthy = false;
    inst.startedAt = clock.now();
    inst.readyAt = undefined;
    inst.exitCode = undefined;
    inst.signal = undefined;
    inst.cause = cause;
    this.addLive(inst);
    inst.home.version++;
    const data: Record<string, unknown> = { ...this.base(inst), instanceType: inst.type.name, address: inst.address };
    if (restart) data.restart = true;
    if (slow.fault !== undefined) data.slowBoot = slow.fault;
    this.hooks.emit('instance.started', ref(inst), data, cause);
    inst.timer = clock.after(bootMs, () => this.booted(inst));
  }

  private booted(inst: SimInstance): void {
    inst.timer = undefined;
    inst.phase = 'running';
    this.touch(inst);
    inst.anchor = this.options.clock.now();
    if (this.answering(inst)) this.resumedAnswering(inst);
  }

  /** It stopped answering: if marked healthy, it is marked unhealthy after the failing checks. */
  private stoppedAnswering(inst: SimInstance): void {
    if (inst.phase !== 'running' || inst.unhealthyCheck !== undefined) return; // already on its way
    this.options.clock.cancel(inst.healthTimer); // a pending healthy mark: the passing run is broken
    inst.healthTimer = undefined;
    if (!inst.healthy) return;
    const check = inst.home.healthCheck;
    const timing = unhealthyTiming(inst.anchor, check, this.options.clock.now());
    inst.unhealthyCheck = timing.lastCheck;
    inst.healthTimer = this.options.clock.at(timing.at, () => this.markUnhealthy(inst, check.unhealthyThreshold));
  }

  /** It answers again: it is marked healthy after enough passing checks. */
  private resumedAnswering(inst: SimInstance): void {
    if (inst.phase !== 'running') return;
    const now = this.options.clock.now();
    if (inst.unhealthyCheck !== undefined) {
      // A pending unhealthy mark whose last failing check is still ahead never happens.
      if (inst.unhealthyCheck < now) return; // markUnhealthy will schedule recovery
      this.options.clock.cancel(inst.healthTimer);
      inst.healthTimer = undefined;
      inst.unhealthyCheck = undefined;
      return;
    }
    if (inst.healthy) return;
    const at = healthyAt(inst.anchor, inst.home.healthCheck, now);
    inst.healthTimer = this.options.clock.at(at, () => this.markHealthy(inst));
  }

  private markUnhealthy(inst: SimInstance, failures: number): void {
    inst.healthTimer = undefined;
    inst.unhealthyCheck = undefined;
    inst.healthy = false;
    this.touch(inst);
    this.hooks.emit('instance.unhealthy', ref(inst), { ...this.base(inst), failures, reason: 'health-check-timeout' });
    if (this.answering(inst)) this.resumedAnswering(inst);
  }

  private markHealthy(inst: SimInstance): void {
    inst.healthTimer = undefined;
    inst.healthy = true;
    this.touch(inst);
    if (inst.readyAt === undefined) {
      inst.readyAt = this.options.clock.now();
      const data = { ...this.base(inst), bootMs: inst.readyAt - inst.startedAt };
      this.hooks.emit('instance.ready', ref(inst), data, inst.cause);
    } else {
      this.hooks.emit('instance.healthy', ref(inst), this.base(inst));
    }
  }

  private terminate(
    inst: SimInstance,
    phase: 'stopped' | 'crashed',
    info: CrashInfo & { readonly drained?: boolean },
    cause?: string,
  ): void {
    const restarting = info.reason === 'restart';
    this.clearTimers(inst, !restarting);
    this.removeLive(inst);
    inst.phase = phase;
    inst.healthy = false;
    this.touch(inst);
    inst.exitCode = info.exitCode;
    inst.signal = info.signal;
    const data: Record<string, unknown> = { ...this.base(inst), ...info };
    if (info.fault === undefined) delete data.fault;
    this.hooks.emit(phase === 'crashed' ? 'instance.crashed' : 'instance.stopped', ref(inst), data, cause);
    if (!restarting) this.forgetLater(inst);
  }

  private forgetLater(inst: SimInstance): void {
    inst.timer = this.options.clock.after(this.options.retentionMs, () => {
      if (this.instances.get(inst.name) === inst && !isLive(inst)) this.instances.delete(inst.name);
    });
  }

  private clearTimers(inst: SimInstance, faultsToo: boolean): void {
    const { clock } = this.options;
    clock.cancel(inst.timer);
    clock.cancel(inst.healthTimer);
    inst.timer = undefined;
    inst.healthTimer = undefined;
    inst.unhealthyCheck = undefined;
    if (!faultsToo) return;
    clock.cancel(inst.hangTimer);
    for (const t of inst.faultTimers) clock.cancel(t);
    inst.faultTimers.length = 0;
  }

  private touch(inst: SimInstance): void {
    inst.home.version++;
  }

  private addLive(inst: SimInstance): void {
    const group = inst.home;
    if (group.live.has(inst)) return;
    group.live.add(inst);
    group.perZone.set(inst.zone, (group.perZone.get(inst.zone) ?? 0) + 1);
    this.liveCount++;
  }

  private removeLive(inst: SimInstance): void {
    const group = inst.home;
    if (!group.live.delete(inst)) return;
    group.perZone.set(inst.zone, (group.perZone.get(inst.zone) ?? 1) - 1);
    this.liveCount--;
  }

  /** 10.0.0.1 onwards: 16 million addresses before one repeats. */
  private nextAddress(): string {
    const seq = ++this.addressSeq;
    return `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}:8080`;
  }

  private mustGroup(name: string): FleetGroup {
    const group = this.groups.get(name);
    if (group === undefined) {
      throw new HomeostatError(ErrorCode.NOT_FOUND, `sim: instance group ${JSON.stringify(name)} does not exist`);
    }
    return group;
  }

  private base(inst: SimInstance): Record<string, unknown> {
    return { instance: inst.name, group: inst.group, zone: inst.zone };
  }
}
