/** @module Fires injected faults on the virtual clock and keeps a log of what each one hit. */
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { VirtualClock } from './clock.js';
import type { InstanceFault, SimFault, SlowBootFault, ZoneOutageFault } from './faults.js';
import type { Fleet } from './fleet.js';
import { isLive, type SimInstance } from './instance.js';
import type { Random } from './random.js';

/** One firing of a fault. */
export interface FaultRecord {
  readonly fault: string;
  readonly kind: SimFault['kind'] | 'zone-restored' | 'hang-ended';
  /** Virtual time (ms since the Unix epoch). */
  readonly time: number;
  /** Instance names (for zone faults: the zone, then the instances hit). Empty when nothing was hit. */
  readonly targets: readonly string[];
}

export interface FaultRunnerDeps {
  readonly clock: VirtualClock;
  /** The provider's random root; each fault draws from its own fork, named after its id. */
  readonly random: Random;
  /** Virtual time the simulation started at; fault times count from it. */
  readonly simStart: number;
}

export class FaultRunner {
  readonly faults: SimFault[] = [];
  readonly log: FaultRecord[] = [];
  private readonly perInstance: InstanceFault[] = [];
  private readonly slowBoots: SlowBootFault[] = [];
  private readonly streams = new Map<string, Random>();
  private fleet: Fleet | undefined;

  constructor(private readonly deps: FaultRunnerDeps) {}

  /** Connects the fleet (which itself calls back into this runner). */
  attach(fleet: Fleet): void {
    this.fleet = fleet;
  }

  add(fault: SimFault): void {
    this.faults.push(fault);
    this.streams.set(fault.id, this.deps.random.fork(fault.id));
    if (fault.kind === 'slow-boot') this.slowBoots.push(fault);
    else if (fault.kind === 'zone-outage') this.scheduleZone(fault);
    else if ('at' in fault.trigger) this.deps.clock.at(this.deps.simStart + fault.trigger.at, () => this.fire(fault));
    else this.addRandom(fault);
  }

  /** The slow-down of a boot starting now in `group` (FleetHooks.bootFactor). */
  bootFactor(inst: SimInstance): { readonly factor: number; readonly fault?: string } {
    const t = this.deps.clock.now() - this.deps.simStart;
    let factor = 1;
    let fault: string | undefined;
    for (const f of this.slowBoots) {
      if (t < f.fromMs || t >= f.untilMs || (f.group !== undefined && f.group !== inst.group)) continue;
      if (this.stream(f.id).next() >= f.probability) continue;
      factor *= f.factor;
      fault = f.id;
      this.record(f.id, 'slow-boot', [inst.name]);
    }
    return fault === undefined ? { factor } : { factor, fault };
  }

  /** Schedules the random faults that apply to a new instance (FleetHooks.launched). */
  launched(inst: SimInstance): void {
    for (const fault of this.perInstance) if (applies(fault, inst)) this.scheduleRandom(fault, inst);
  }

  private addRandom(fault: InstanceFault): void {
    this.perInstance.push(fault);
    for (const group of this.mustFleet().groups.values()) {
      for (const inst of group.live) if (applies(fault, inst)) this.scheduleRandom(fault, inst);
    }
  }

  private scheduleRandom(fault: InstanceFault, inst: SimInstance): void {
    if (!('ratePerMs' in fault.trigger)) return;
    const delay = this.stream(fault.id).exponential(fault.trigger.ratePerMs);
    const timer = this.deps.clock.after(delay, () => {
      inst.faultTimers.splice(inst.faultTimers.indexOf(timer), 1);
      if (!isLive(inst)) return;
      this.hit(fault, [inst]);
      // A Poisson process: a hang can strike the same instance again later.
      if (fault.kind === 'hang') this.scheduleRandom(fault, inst);
    });
    inst.faultTimers.push(timer);
  }

  private fire(fault: InstanceFault): void {
    this.hit(fault, this.pick(fault));
  }

  private hit(fault: InstanceFault, targets: readonly SimInstance[]): void {
    const fleet = this.mustFleet();
    this.record(
      fault.id,
      fault.kind,
      targets.map((i) => i.name),
    );
    for (const inst of targets) {
      if (fault.kind === 'crash') {
        fleet.crash(inst, { exitCode: fault.exitCode, signal: fault.signal, reason: 'crash', fault: fault.id });
      } else {
        fleet.hang(inst, fault.durationMs);
        if (fault.durationMs !== undefined) {
          this.deps.clock.after(fault.durationMs, () => {
            if (isLive(inst)) this.record(fault.id, 'hang-ended', [inst.name]);
          });
        }
      }
    }
  }

  /** The instances an `at` fault hits: the named one, or `count` chosen at random. */
  private pick(fault: InstanceFault): SimInstance[] {
    const fleet = this.mustFleet();
    if (fault.instance !== undefined) {
      const inst = fleet.instances.get(fault.instance);
      return inst !== undefined && canFail(inst) ? [inst] : [];
    }
    const candidates: SimInstance[] = [];
    for (const group of fleet.groups.values()) {
      if (fault.group !== undefined && group.name !== fault.group) continue;
      for (const inst of group.live) if (canFail(inst)) candidates.push(inst);
    }
    const random = this.stream(fault.id);
    const n = Math.min(fault.count, candidates.length);
    // A partial Fisher-Yates shuffle: the first n are a uniform random choice.
    for (let i = 0; i < n; i++) {
      const j = i + random.int(candidates.length - i);
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    return candidates.slice(0, n);
  }

  private scheduleZone(fault: ZoneOutageFault): void {
    const { clock, simStart } = this.deps;
    const at =
      'at' in fault.trigger
        ? simStart + fault.trigger.at
        : clock.now() + this.stream(fault.id).exponential(fault.trigger.ratePerMs);
    clock.at(at, () => {
      const fleet = this.mustFleet();
      if (fleet.isZoneDown(fault.zone)) return;
      const hit = fleet.zoneDown(fault.zone, fault.mode, fault.id);
      this.record(fault.id, 'zone-outage', [fault.zone, ...hit.map((i) => i.name)]);
      if (fault.durationMs === undefined) return;
      clock.after(fault.durationMs, () => {
        fleet.zoneUp(fault.zone);
        this.record(fault.id, 'zone-restored', [fault.zone]);
        if ('ratePerMs' in fault.trigger) this.scheduleZone(fault);
      });
    });
  }

  private record(fault: string, kind: FaultRecord['kind'], targets: readonly string[]): void {
    this.log.push(Object.freeze({ fault, kind, time: this.deps.clock.now(), targets: Object.freeze(targets) }));
  }

  private stream(id: string): Random {
    return this.streams.get(id)!;
  }

  private mustFleet(): Fleet {
    if (this.fleet === undefined) throw new HomeostatError(ErrorCode.INTERNAL, 'FaultRunner used before attach()');
    return this.fleet;
  }
}

function applies(fault: InstanceFault, inst: SimInstance): boolean {
  if (fault.instance !== undefined) return fault.instance === inst.name;
  return fault.group === undefined || fault.group === inst.group;
}

/** Instance faults hit starting and running instances (not those already draining). */
function canFail(inst: SimInstance): boolean {
  return inst.phase === 'starting' || inst.phase === 'running';
}
