/** @module Failure injection: the faults a simulation can be given, validated into a resolved form. */
import { invalid, type Problem } from '../../core/errors.js';
import { isRecord, Reader } from './read.js';

type Time = string | number;

/**
 * A fault as written by a user. Times are durations ('10m') or ms from the start of the
 * simulation. Instance faults and zone outages fire either once `at` a time or at random with
 * `probabilityPerHour` (per instance, or per zone for outages; a Poisson process whose chance of
 * at least one failure within an hour is that probability).
 */
export type SimFaultInput =
  | {
      /** The instance exits. */
      readonly kind: 'crash';
      readonly at?: Time;
      readonly probabilityPerHour?: number;
      /** One instance by name; otherwise `count` instances (default 1) chosen at random. */
      readonly instance?: string;
      /** Limit the choice to one group. */
      readonly group?: string;
      readonly count?: number;
      /** Default 1 (with signal null); set `signal` (e.g. 'SIGKILL') and exitCode null for a kill. */
      readonly exitCode?: number | null;
      readonly signal?: string | null;
    }
  | {
      /** The instance stops answering (health checks time out) but keeps running. */
      readonly kind: 'hang';
      readonly at?: Time;
      readonly probabilityPerHour?: number;
      readonly instance?: string;
      readonly group?: string;
      readonly count?: number;
      /** It answers again after this long; default never (until restarted). */
      readonly duration?: Time;
    }
  | {
      /** Instances that start while it is active boot `factor` times slower, each with `probability`. */
      readonly kind: 'slow-boot';
      readonly group?: string;
      readonly factor?: number;
      readonly probability?: number;
      readonly from?: Time;
      readonly until?: Time;
    }
  | {
      /** Every instance in `zone` crashes ('crash', default) or becomes unreachable; no new ones start there. */
      readonly kind: 'zone-outage';
      readonly zone: string;
      readonly at?: Time;
      readonly probabilityPerHour?: number;
      readonly mode?: 'crash' | 'unreachable';
      /** The zone comes back after this long; default never. */
      readonly duration?: Time;
    };

export const FaultKind = {
  Crash: 'crash',
  Hang: 'hang',
  SlowBoot: 'slow-boot',
  ZoneOutage: 'zone-outage',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** When a fault fires: once at `at` ms from the simulation start, or at random with `ratePerMs`. */
export type FaultTrigger = { readonly at: number } | { readonly ratePerMs: number };

export interface InstanceFault {
  readonly id: string;
  readonly kind: 'crash' | 'hang';
  readonly trigger: FaultTrigger;
  readonly instance?: string;
  readonly group?: string;
  readonly count: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Hang length; undefined: until restarted. */
  readonly durationMs?: number;
}

export interface SlowBootFault {
  readonly id: string;
  readonly kind: 'slow-boot';
  readonly group?: string;
  readonly factor: number;
  readonly probability: number;
  readonly fromMs: number;
  readonly untilMs: number;
}

export interface ZoneOutageFault {
  readonly id: string;
  readonly kind: 'zone-outage';
  readonly trigger: FaultTrigger;
  readonly zone: string;
  readonly mode: 'crash' | 'unreachable';
  readonly durationMs?: number;
}

export type SimFault = InstanceFault | SlowBootFault | ZoneOutageFault;

const HOUR_MS = 3_600_000;
const KINDS = Object.values(FaultKind);

/** Validates a fault; throws E_INVALID naming each bad field. `zones` are the provider's zones. */
export function resolveFault(input: unknown, id: string, zones: readonly string[]): SimFault {
  const problems: Problem[] = [];
  if (!isRecord(input)) {
    throw invalid('fault', [{ pointer: '', message: `expected an object with kind: ${KINDS.join(', ')}` }]);
  }
  const r = new Reader(input, '', problems);
  const kind = r.string<FaultKind>('kind', undefined, KINDS);
  if (problems.length > 0) throw invalid('fault', problems);
  const fault = readFault(r, kind, id, zones);
  if (problems.length > 0) throw invalid(`fault ${id} (${kind})`, problems);
  return Object.freeze(fault);
}

function readFault(r: Reader, kind: FaultKind, id: string, zones: readonly string[]): SimFault {
  switch (kind) {
    case 'crash':
    case 'hang':
      return readInstanceFault(r, kind, id);
    case 'slow-boot':
      return readSlowBoot(r, id);
    case 'zone-outage':
      return readZoneOutage(r, id, zones);
  }
}

function readInstanceFault(r: Reader, kind: 'crash' | 'hang', id: string): InstanceFault {
  const extra = kind === 'crash' ? ['exitCode', 'signal'] : ['duration'];
  r.only(['kind', 'at', 'probabilityPerHour', 'instance', 'group', 'count', ...extra]);
  const trigger = readTrigger(r);
  const instance = r.optionalString('instance');
  const group = r.optionalString('group');
  const count = r.integer('count', 1, 1);
  if (instance !== undefined && (group !== undefined || r.fields.count !== undefined)) {
    r.problem('instance', 'give either instance, or group and/or count, not both');
  }
  if ('ratePerMs' in trigger && r.fields.count !== undefined) {
    r.problem('count', 'count applies to faults with `at`; probabilityPerHour applies to every instance');
  }
  const fault: InstanceFault = { id, kind, trigger, instance, group, count, ...exitOf(r) };
  if (kind === 'hang' && r.fields.duration !== undefined) return { ...fault, durationMs: r.duration('duration', 0) };
  return fault;
}

function exitOf(r: Reader): { exitCode: number | null; signal: string | null } {
  const exitCode = r.fields.exitCode === null ? null : r.integer('exitCode', 1, 0);
  const signal = r.fields.signal === undefined || r.fields.signal === null ? null : r.string('signal', undefined);
  return { exitCode, signal };
}

function readSlowBoot(r: Reader, id: string): SlowBootFault {
  r.only(['kind', 'group', 'factor', 'probability', 'from', 'until']);
  const fromMs = r.duration('from', 0);
  const untilMs = r.duration('until', Number.POSITIVE_INFINITY);
  if (untilMs <= fromMs) r.problem('until', 'must be later than from');
  return {
    id,
    kind: 'slow-boot',
    group: r.optionalString('group'),
    factor: r.number('factor', 5, 1),
    probability: r.number('probability', 1, 0, 1),
    fromMs,
    untilMs,
  };
}

function readZoneOutage(r: Reader, id: string, zones: readonly string[]): ZoneOutageFault {
  r.only(['kind', 'zone', 'at', 'probabilityPerHour', 'mode', 'duration']);
  const zone = r.string('zone', undefined, zones);
  const fault: ZoneOutageFault = {
    id,
    kind: 'zone-outage',
    trigger: readTrigger(r),
    zone,
    mode: r.string('mode', 'crash', ['crash', 'unreachable']),
  };
  return r.fields.duration === undefined ? fault : { ...fault, durationMs: r.duration('duration', 0) };
}

function readTrigger(r: Reader): FaultTrigger {
  const hasAt = r.fields.at !== undefined;
  const hasRate = r.fields.probabilityPerHour !== undefined;
  if (hasAt === hasRate) {
    r.problem('', 'give exactly one of `at` (a time from the simulation start) or `probabilityPerHour`');
    return { at: 0 };
  }
  if (hasAt) return { at: r.duration('at', undefined) };
  const p = r.number('probabilityPerHour', undefined, 0, 1);
  if (p <= 0 || p >= 1) {
    r.problem('probabilityPerHour', `${p}: must be above 0 and below 1 (use \`at\` for a certain failure)`);
    return { ratePerMs: 1 / HOUR_MS };
  }
  return { ratePerMs: -Math.log(1 - p) / HOUR_MS };
}
