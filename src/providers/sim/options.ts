/** @module The sim provider's options: user input → validated, defaulted, frozen. */
import { HomeostatError, invalid, type Problem } from '../../core/errors.js';
import { SIM_DEFAULT_ZONES } from './catalog.js';
import { createVirtualClock, type VirtualClock } from './clock.js';
import { type DemandCurve, type DemandCurveInput, resolveDemandCurve } from './demand.js';
import { resolveFault, type SimFault, type SimFaultInput } from './faults.js';
import { isRecord, Reader } from './read.js';

/** How one group is loaded. */
export interface SimGroupOptions {
  /** Requests per second offered to the group over time. Default 0. */
  readonly demand?: DemandCurveInput;
  /** Requests per second one instance serves at utilisation 1. Default: the instance type's. */
  readonly capacityRps?: number;
}

export interface SimProviderOptions {
  /** Provider name. Default 'sim'. */
  readonly name?: string;
  /** Seed of every random choice. Default 1. Same seed and inputs: the same events. */
  readonly seed?: number | string;
  /** The virtual clock to run on. Default a new one at 2026-01-01T00:00:00Z. */
  readonly clock?: VirtualClock;
  /** Zones instances are spread over. Default a, b, c. */
  readonly zones?: readonly string[];
  /** Virtual time between metrics samples per group. Default '1s'. */
  readonly metricsInterval?: string | number;
  /** List CPU and memory per instance in metrics for groups of at most this many running instances. Default 100. */
  readonly perInstanceLimit?: number;
  /** How long a draining instance takes to stop. Default '5s'. */
  readonly drain?: string | number;
  /** When an unanswered request fails. Default '10s'. */
  readonly requestTimeout?: string | number;
  /** How long stopped and crashed instances stay visible in `observe`. Default '60s'. */
  readonly retention?: string | number;
  /** Most instances alive at once. Default 50,000. */
  readonly maxInstances?: number;
  /** Load per group name; groups without an entry get no demand. */
  readonly groups?: Readonly<Record<string, SimGroupOptions>>;
  /** Faults injected from the start. */
  readonly faults?: readonly SimFaultInput[];
  /** Drive the clock from real time, this many virtual ms per real ms. Default: tests drive it. */
  readonly speed?: number;
}

export interface ResolvedSimGroupOptions {
  readonly demand?: DemandCurve;
  readonly capacityRps?: number;
}

export interface ResolvedSimProviderOptions {
  readonly name: string;
  readonly seed: number | string;
  readonly clock: VirtualClock;
  readonly zones: readonly string[];
  readonly metricsIntervalMs: number;
  readonly perInstanceLimit: number;
  readonly drainMs: number;
  readonly requestTimeoutMs: number;
  readonly retentionMs: number;
  readonly maxInstances: number;
  readonly groups: Readonly<Record<string, ResolvedSimGroupOptions>>;
  /** With ids fault-1, fault-2, ... in the order given. */
  readonly faults: readonly SimFault[];
  readonly speed?: number;
}

const FIELDS = [
  'name',
  'seed',
  'clock',
  'zones',
  'metricsInterval',
  'perInstanceLimit',
  'drain',
  'requestTimeout',
  'retention',
  'maxInstances',
  'groups',
  'faults',
  'speed',
];

/** Validates options; throws E_INVALID listing every problem with its pointer. */
export function resolveSimProviderOptions(options: SimProviderOptions = {}): ResolvedSimProviderOptions {
  const problems: Problem[] = [];
  const r = new Reader(options as Record<string, unknown>, '', problems);
  r.only(FIELDS);
  const zones = readZones(r);
  const seed = typeof options.seed === 'string' ? options.seed : r.integer('seed', 1);
  const metricsIntervalMs = r.duration('metricsInterval', 1_000);
  if (metricsIntervalMs < 10) r.problem('metricsInterval', 'must be at least 10ms');
  const resolved = {
    name: r.string('name', 'sim'),
    seed,
    clock: options.clock ?? createVirtualClock(),
    zones,
    metricsIntervalMs,
    perInstanceLimit: r.integer('perInstanceLimit', 100),
    drainMs: r.duration('drain', 5_000),
    requestTimeoutMs: Math.max(1, r.duration('requestTimeout', 10_000)),
    retentionMs: r.duration('retention', 60_000),
    maxInstances: r.integer('maxInstances', 50_000, 1),
    groups: readGroups(r, problems),
    faults: readFaults(r, zones, problems),
    ...(options.speed === undefined ? {} : { speed: r.number('speed', undefined, Number.MIN_VALUE) }),
  };
  if (problems.length > 0) throw invalid('sim provider options', problems);
  return Object.freeze(resolved);
}

/** Validates one group's load options (pointers under `base`). */
export function resolveSimGroupOptions(input: unknown, base = ''): ResolvedSimGroupOptions {
  const problems: Problem[] = [];
  const resolved = readGroup(input, base, problems);
  if (problems.length > 0) throw invalid('sim group options', problems);
  return resolved;
}

function readZones(r: Reader): readonly string[] {
  const raw = r.fields.zones;
  if (raw === undefined) return SIM_DEFAULT_ZONES;
  const ok = Array.isArray(raw) && raw.length > 0 && raw.every((z) => typeof z === 'string' && z !== '');
  if (!ok || new Set(raw).size !== raw.length) {
    r.problem('zones', 'expected a non-empty list of distinct zone names');
    return SIM_DEFAULT_ZONES;
  }
  return Object.freeze([...(raw as string[])]);
}

function readGroups(r: Reader, problems: Problem[]): Readonly<Record<string, ResolvedSimGroupOptions>> {
  const groups = r.object('groups', true);
  const out: Record<string, ResolvedSimGroupOptions> = {};
  for (const [name, value] of Object.entries(groups.fields)) {
    out[name] = readGroup(value, groups.pointer(name), problems);
  }
  return Object.freeze(out);
}

function readGroup(input: unknown, base: string, problems: Problem[]): ResolvedSimGroupOptions {
  if (!isRecord(input)) {
    problems.push({ pointer: base, message: 'expected an object with demand and/or capacityRps' });
    return {};
  }
  const g = new Reader(input, base, problems);
  g.only(['demand', 'capacityRps']);
  const capacityRps = input.capacityRps === undefined ? undefined : g.number('capacityRps', undefined, 0.001);
  const demand =
    input.demand === undefined
      ? undefined
      : collect(problems, () => resolveDemandCurve(input.demand, g.pointer('demand')));
  return Object.freeze({
    ...(demand === undefined ? {} : { demand }),
    ...(capacityRps === undefined ? {} : { capacityRps }),
  });
}

function readFaults(r: Reader, zones: readonly string[], problems: Problem[]): readonly SimFault[] {
  const raw = r.fields.faults;
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    r.problem('faults', 'expected a list of faults');
    return [];
  }
  const faults = raw.flatMap((input, i) => {
    const fault = collect(problems, () => resolveFault(input, `fault-${i + 1}`, zones), `/faults/${i}`);
    return fault === undefined ? [] : [fault];
  });
  return Object.freeze(faults);
}

/** Runs `fn`, moving the problems of an E_INVALID it throws into `problems` (under `prefix`). */
function collect<T>(problems: Problem[], fn: () => T, prefix = ''): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof HomeostatError) || err.problems.length === 0) throw err;
    for (const p of err.problems) problems.push({ pointer: prefix + p.pointer, message: p.message });
    return undefined;
  }
}
