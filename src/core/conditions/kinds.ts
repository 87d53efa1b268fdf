/**
 * @module The per-group window of each condition kind as plain JSON data, with its update, its
 * truth at a time, and the next time its truth can change without an event.
 */
import { parseJsonPath, resolveJsonPath, type JsonPath } from '../delivery/json-path.js';
import { aggregate, compare } from './aggregate.js';
import { toJsonPath } from './parse.js';
import {
  whenKind,
  type AggregateWhen,
  type AbsentWhen,
  type CountWhen,
  type SequenceWhen,
  type SustainedWhen,
  type WhenSpec,
} from './types.js';

/** Most samples an aggregate window keeps per group; older ones are dropped first. */
export const MAX_SAMPLES = 10_000;

/** Per-group window data: JSON only, so it can be snapshotted as is. */
export type KindState = Record<string, unknown>;

/** What one kind does with its window. `now` never goes backwards. */
export interface KindOps {
  init(now: number): KindState;
  /** Records a matching event; `step` only matters to sequences. */
  apply(state: KindState, event: unknown, now: number, step: string | undefined): void;
  /** The detail when the condition holds at `now`, else undefined (may drop expired data). */
  holds(state: KindState, now: number): Record<string, unknown> | undefined;
  /** The next time after `now` when `holds` can change without an event. */
  nextChange(state: KindState, now: number): number | undefined;
  /** True when the window holds nothing that matters any more. */
  idle(state: KindState, now: number): boolean;
  /** True for conditions that hold for one instant (sequence): re-armed right after evaluation. */
  readonly pulse: boolean;
}

const after = (t: number | undefined, now: number): number | undefined => (t !== undefined && t > now ? t : undefined);

/** Reads a path from an event; undefined when missing. */
export function readField(event: unknown, path: JsonPath): unknown {
  const r = resolveJsonPath(event, path);
  return r.found ? r.value : undefined;
}

/** Compiles a field path checked by parseWhen. */
export function compilePath(text: string): JsonPath {
  const path = parseJsonPath(toJsonPath(text));
  return typeof path === 'string' ? [text] : path;
}

interface Sustained {
  start?: number;
  last?: number;
  events: number;
}

function sustainedOps(forMs: number, maxGap: number): KindOps {
  const alive = (s: Sustained, now: number) => s.start !== undefined && s.last !== undefined && now - s.last <= maxGap;
  return {
    pulse: false,
    init: () => ({ events: 0 }),
    apply(state, _event, now) {
      const s = state as unknown as Sustained;
      if (!alive(s, now)) Object.assign(s, { start: now, events: 0 });
      s.last = now;
      s.events += 1;
    },
    holds(state, now) {
      const s = state as unknown as Sustained;
      if (!alive(s, now) || now - s.start! < forMs) return undefined;
      return { kind: 'sustained', since: s.start, lastEventAt: s.last, events: s.events, for: forMs, maxGap };
    },
    nextChange(state, now) {
      const s = state as unknown as Sustained;
      if (!alive(s, now)) return undefined;
      return Math.min(after(s.start! + forMs, now) ?? Infinity, s.last! + maxGap + 1);
    },
    idle: (state, now) => !alive(state as unknown as Sustained, now),
  };
}

interface Count {
  times: number[];
}

function countOps(atLeast: number, within: number): KindOps {
  // Invariant: `times` keeps only the newest `atLeast` timestamps; the condition is "the
  // atLeast-th newest event is within the window", so older ones can never matter.
  const oldest = (c: Count) => (c.times.length >= atLeast ? c.times[c.times.length - atLeast] : undefined);
  return {
    pulse: false,
    init: () => ({ times: [] }),
    apply(state, _event, now) {
      const c = state as unknown as Count;
      c.times.push(now);
      if (c.times.length > atLeast) c.times.splice(0, c.times.length - atLeast);
    },
    holds(state, now) {
      const first = oldest(state as unknown as Count);
      if (first === undefined || now - first > within) return undefined;
      return { kind: 'count', count: atLeast, atLeast, within, firstAt: first, spanMs: now - first };
    },
    nextChange: (state, now) =>
      after(
        mapDefined(oldest(state as unknown as Count), (t) => t + within + 1),
        now,
      ),
    idle(state, now) {
      const times = (state as unknown as Count).times;
      return times.length === 0 || now - times[times.length - 1]! > within;
    },
  };
}

interface Absent {
  last: number;
}

function absentOps(absent: number): KindOps {
  return {
    pulse: false,
    init: (now) => ({ last: now }),
    apply: (state, _event, now) => void ((state as unknown as Absent).last = now),
    holds(state, now) {
      const last = (state as unknown as Absent).last;
      return now - last >= absent ? { kind: 'absent', lastSeenAt: last, silentMs: now - last, absent } : undefined;
    },
    nextChange: (state, now) => after((state as unknown as Absent).last + absent, now),
    idle: () => false,
  };
}

interface Sequence {
  firstAt?: number;
  match?: { firstAt: number; thenAt: number };
}

function sequenceOps(first: string, then: string, within: number): KindOps {
  return {
    pulse: true,
    init: () => ({}),
    apply(state, _event, now, step) {
      const s = state as unknown as Sequence;
      if (step === first) s.firstAt = now;
      else if (step === then && s.firstAt !== undefined && now - s.firstAt <= within) {
        s.match = { firstAt: s.firstAt, thenAt: now };
        delete s.firstAt;
      }
    },
    holds(state) {
      const s = state as unknown as Sequence;
      if (s.match === undefined) return undefined;
      const m = s.match;
      delete s.match;
      return {
        kind: 'sequence',
        first,
        then,
        firstAt: m.firstAt,
        thenAt: m.thenAt,
        gapMs: m.thenAt - m.firstAt,
        within,
      };
    },
    nextChange: () => undefined,
    idle(state, now) {
      const s = state as unknown as Sequence;
      return s.match === undefined && (s.firstAt === undefined || now - s.firstAt > within);
    },
  };
}

interface Samples {
  samples: [number, number][];
}

function aggregateOps(a: AggregateWhen['aggregate']): KindOps {
  const path = compilePath(a.field);
  const prune = (s: Samples, now: number) => {
    let i = 0;
    while (i < s.samples.length && now - s.samples[i]![0] > a.within) i++;
    if (i > 0) s.samples.splice(0, i);
  };
  return {
    pulse: false,
    init: () => ({ samples: [] }),
    apply(state, event, now) {
      const s = state as unknown as Samples;
      const v = readField(event, path);
      if (typeof v !== 'number' || !Number.isFinite(v)) return;
      s.samples.push([now, v]);
      if (s.samples.length > MAX_SAMPLES) s.samples.shift();
    },
    holds(state, now) {
      const s = state as unknown as Samples;
      prune(s, now);
      if (s.samples.length === 0) return undefined;
      const r = aggregate(
        a.fn,
        s.samples.map(([, v]) => v),
      );
      if (!compare(r.value, a.op, a.value)) return undefined;
      const { fn, field, op, value: threshold, within } = a;
      return {
        kind: 'aggregate',
        fn,
        field,
        value: r.value,
        op,
        threshold,
        samples: s.samples.length,
        within,
        arithmetic: `${r.arithmetic} ${op} ${threshold}`,
      };
    },
    nextChange: (state, now) =>
      after(
        mapDefined((state as unknown as Samples).samples[0]?.[0], (t) => t + a.within + 1),
        now,
      ),
    idle: (state, now) => (state as unknown as Samples).samples.every(([t]) => now - t > a.within),
  };
}

function mapDefined(v: number | undefined, f: (v: number) => number): number | undefined {
  return v === undefined ? undefined : f(v);
}

/** The window operations for a spec. */
export function kindOps(spec: WhenSpec): KindOps {
  switch (whenKind(spec)) {
    case 'sustained': {
      const s = spec as SustainedWhen;
      return sustainedOps(s.for, s.maxGap);
    }
    case 'count': {
      const c = (spec as CountWhen).count;
      return countOps(c.atLeast, c.within);
    }
    case 'absent':
      return absentOps((spec as AbsentWhen).absent);
    case 'sequence': {
      const q = (spec as SequenceWhen).sequence;
      return sequenceOps(q.first, q.then, q.within);
    }
    case 'aggregate':
      return aggregateOps((spec as AggregateWhen).aggregate);
  }
}
